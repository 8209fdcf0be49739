"""``python -m gliner_exp``: the training app (see :mod:`gliner_exp.cli.main`)."""

from gliner_exp.cli.main import main

if __name__ == "__main__":
    main()
