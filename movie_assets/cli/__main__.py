"""`python -m movie_assets.cli`."""

from movie_assets.cli import main

main()
