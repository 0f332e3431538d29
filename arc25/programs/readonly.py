"""A module stand-in that programs cannot change: shared by the trusted runner and the sandbox's runtime."""

from __future__ import annotations


class ReadOnlyModule:
    """A module stand-in whose attributes cannot be set or deleted.

    With ``fallback`` (the trusted path) unknown attributes are fetched from
    the real module and cached; without it only the given attributes exist.
    """

    __slots__ = ("__dict__", "_fallback", "_label")

    def __init__(self, label: str, attributes: dict, fallback=None) -> None:
        object.__setattr__(self, "_label", label)
        object.__setattr__(self, "_fallback", fallback)
        self.__dict__.update(attributes)

    def __getattr__(self, name: str):
        fallback = object.__getattribute__(self, "_fallback")
        label = object.__getattribute__(self, "_label")
        if fallback is None:
            raise AttributeError(f"{label} has no attribute {name!r} here")
        value = getattr(fallback, name)
        self.__dict__[name] = value
        return value

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError(f"{object.__getattribute__(self, '_label')} is read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{object.__getattribute__(self, '_label')} is read-only")

    def __dir__(self):
        return sorted(self.__dict__)

    def __repr__(self) -> str:
        return f"<{object.__getattribute__(self, '_label')} (read-only)>"

    # A module is never copied: copying walked the proxy's state (its real ``__dict__``) into the memo.
    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __reduce_ex__(self, protocol):
        raise TypeError(f"{object.__getattribute__(self, '_label')} cannot be pickled or copied")
