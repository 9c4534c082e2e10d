"""Build the booklet in this folder: the same as `booklet build`."""

import sys

from booklet.cli import main

if __name__ == "__main__":
    main(["build", *sys.argv[1:]])
