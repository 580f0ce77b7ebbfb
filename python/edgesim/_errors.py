"""edgesim's exceptions, made from the messages the C++ core and the command line give.

The command line prints ``edgesim: error: MESSAGE`` (exit 2, bad input) or ``edgesim:
simulation failed: MESSAGE`` (exit 1); the in-process calls raise the same MESSAGE. The
message keeps its context (JSON path, file and byte offset), which the exceptions also
expose as attributes.
"""
import re


class EdgesimError(Exception):
    """Base class of edgesim's errors; ``str(e)`` is the command line's message."""


class InputError(EdgesimError, ValueError):
    """Bad input: a malformed config, network, trace or argument (the CLI's exit code 2).

    ``file`` and ``offset`` name where in a binary input the problem is, when the message
    gives them ("trace t.bin: at byte offset 12: ..."); otherwise None.
    """

    def __init__(self, message, file=None, offset=None):
        super().__init__(message)
        self.file = file
        self.offset = offset


class ConfigError(InputError):
    """A config value is wrong: ``path`` is its JSON path ("device.dram.channels")."""

    def __init__(self, message, path=None, file=None):
        super().__init__(message, file=file)
        self.path = path


class SimulationError(EdgesimError, RuntimeError):
    """The simulation itself failed (the CLI's exit code 1)."""


# "config error at device.dram.channels: ..." (a value) or "config error in FILE: ..."
_CONFIG_AT = re.compile(r"config error at ([^:]+): ")
_CONFIG_IN = re.compile(r"config error in (.+?): (?:([\w.\[\]-]+): )?")
# Binary inputs: "trace t.bin: at byte offset 12: ...", "npz a.npz: at byte offset 3: ...",
# "person_detect.tflite: the root table offset at byte 0 points to byte 900, ...".
_FILE = re.compile(r"^(?:trace |npz )?([^\s:]+): ")
_OFFSET = re.compile(r"\bbyte (?:offset )?(\d+)")


def from_message(kind, message):
    """The exception for a message of the given kind ("input" or "simulation")."""
    if kind == "simulation":
        return SimulationError(message)
    m = _CONFIG_AT.search(message)
    if m:
        return ConfigError(message, path=m.group(1))
    m = _CONFIG_IN.search(message)
    if m:
        return ConfigError(message, path=m.group(2), file=m.group(1))
    f, o = _FILE.search(message), _OFFSET.search(message)
    if f and o:
        return InputError(message, file=f.group(1), offset=int(o.group(1)))
    return InputError(message)


def from_child(exit_code, stderr):
    """The exception for a failed child run of the edgesim binary, from its stderr."""
    for line in reversed(stderr.splitlines()):
        if line.startswith("edgesim: error: "):
            return from_message("input", line[len("edgesim: error: "):])
        if line.startswith("edgesim: simulation failed: "):
            return from_message("simulation", line[len("edgesim: simulation failed: "):])
    text = stderr.strip() or "no message"
    if exit_code == 2:
        return from_message("input", text)
    return SimulationError("the edgesim child process ended with exit code %d: %s" % (exit_code, text))
