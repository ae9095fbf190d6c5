"""Option texts shared by the ``sim`` command and the subcommands other folders register.

A light module of its own: the plugins import it, and ``sim.cli`` loads the plugins by name, so
importing ``sim.cli`` from a plugin would close a cycle that no import statement shows."""

from __future__ import annotations

#: Help text of every ``--set`` option.
SET_HELP = ("set a scenario key for this command, e.g. --set competition.homogenisation=0.9 "
            "(dotted key of the schema; repeatable; applied after the file's extends: chain)")
