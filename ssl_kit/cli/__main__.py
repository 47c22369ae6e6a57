"""``python -m ssl_kit.cli``: the same commands as the ``ssl-kit`` script."""

from ssl_kit.cli.commands import main

if __name__ == "__main__":
    main()
