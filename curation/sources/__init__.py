"""Reading raw source files without losing records silently: integrity-checked decompression, byte-range line
splitting with per-file byte-order marks, and JSON records made storable. Pure Python; the Beam readers in
``pipelines/read_*.py`` call these."""

from curation.sources.compression import COMPRESSIONS, SourceError, compression_of, open_checked
from curation.sources.json_record import RecordError, parse_json_record, scrub_surrogates
from curation.sources.lines import BOMS, LineRange, bom_of, iter_lines, plan_ranges

__all__ = [
    "BOMS",
    "COMPRESSIONS",
    "LineRange",
    "RecordError",
    "SourceError",
    "bom_of",
    "compression_of",
    "iter_lines",
    "open_checked",
    "parse_json_record",
    "plan_ranges",
    "scrub_surrogates",
]
