"""Build the booklet in this folder: the same as `booklet build`."""

import sys

from booklet.cli import run

if __name__ == "__main__":
    run(["build", *sys.argv[1:]])
