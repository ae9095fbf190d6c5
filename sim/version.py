"""The package's version, in a module of its own: the package face, the CLI, the store and
the runner read it from here (importing the face ``sim`` from inside the package would close an
import cycle through its lazy re-export of :mod:`sim.api`), and ``pyproject.toml`` reads it
for the distribution's metadata."""

__version__ = "0.1.0"
