"""`python -m rakuten_edge` = the `rakuten-edge` command."""

from .cli import main

if __name__ == "__main__":
    main()
