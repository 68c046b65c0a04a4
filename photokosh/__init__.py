"""photokosh: sort a folder of photos by the people in them.

    from photokosh import sort_photos, SortOptions
    result = sort_photos("~/Pictures", "~/People", SortOptions(blur=True))
"""

from .version import __version__

__all__ = ["SortOptions", "SortResult", "default_output", "sort_photos", "__version__"]


def __getattr__(name: str):
    # Lazy, so that worker processes (which only need the face stage) start fast.
    if name in __all__:
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'photokosh' has no attribute {name!r}")
