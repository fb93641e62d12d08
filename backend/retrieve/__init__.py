"""Motion retrieval: encoders into one text/motion(/video) space and the on-disk motion library."""

from .library import AddReport, LibraryEntry, LibraryMotion, MotionLibrary, SearchHit
from .loader import DEFAULT_MODEL, EVALUATOR_MODEL, load_retrieval
from .runtime import RetrievalInfo, RetrievalRuntime

__all__ = ["DEFAULT_MODEL", "EVALUATOR_MODEL", "AddReport", "LibraryEntry", "LibraryMotion", "MotionLibrary",
           "RetrievalInfo", "RetrievalRuntime", "SearchHit", "load_retrieval"]
