"""Read a tabular or vector file a person uploads (CSV, Excel, pasted text, GeoJSON, GeoPackage, zipped Shapefile,
KML) into one typed table, refusing oversized or hostile input with a one-line error.

Nothing here knows about regions: the table is rows of cells, column names, the kind of each column
(int, float, date, text) and, for vector files, one geometry per row in EPSG:4326.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, BinaryIO

import geopandas as gpd
import numpy as np
import pandas as pd

from .errors import ApiError, BadRequest

Kind = str  # "int" | "float" | "date" | "text"
CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".kml", ".zip"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
SUFFIXES = sorted(CSV_SUFFIXES | VECTOR_SUFFIXES | EXCEL_SUFFIXES)
SHAPEFILE_PARTS = {".shp", ".shx", ".dbf", ".prj", ".cpg"}


class TooLarge(ApiError):
    """The upload is over a size, row or column limit (413)."""

    status = 413


class UnreadableTable(ApiError):
    """The file cannot be read as a table: empty, unknown format or encoding, unsafe content (422)."""

    status = 422


@dataclass(frozen=True)
class Limits:
    """How much an import may hold; the caller decides (defaults: 20 MB, 100,000 rows, 500 columns)."""

    max_bytes: int = 20 * 1024 * 1024
    max_rows: int = 100_000
    max_columns: int = 500
    max_unzipped_bytes: int = 100 * 1024 * 1024


@dataclass
class Table:
    """Typed rows read from a file: `data` has one column per field (typed by `kinds`), `geometry` one shape
    per row (EPSG:4326) for vector files. Data rows are numbered from 1 in the order of the file."""

    data: pd.DataFrame
    kinds: dict[str, Kind]
    geometry: gpd.GeoSeries | None = None
    format: str = "csv"
    notes: list[str] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return list(self.data.columns)

    def __len__(self) -> int:
        return len(self.data)


# --------------------------------------------------------------------------- entry points
def read_table(
    source: str | Path | bytes | BinaryIO,
    filename: str | None = None,
    *,
    sheet: str | None = None,
    limits: Limits | None = None,
) -> Table:
    """Read a file (path, bytes or binary stream) into a typed Table; the format comes from `filename`'s suffix.

    The size limit is checked before the content is read (a path's size, or at most `max_bytes + 1` bytes of
    a stream). `sheet` picks an Excel sheet, or a layer of a GeoPackage or KML."""
    limits = limits or Limits()
    if isinstance(source, str | Path):
        path = Path(source)
        filename = filename or path.name
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise UnreadableTable(f"cannot open {path.name}: {exc.strerror or exc}") from None
        _check_size(size, limits)
        with path.open("rb") as f:
            data = f.read()
    elif isinstance(source, bytes | bytearray):
        data = bytes(source)
    else:
        data = source.read(limits.max_bytes + 1)
    _check_size(len(data), limits)
    suffix = Path(filename or "").suffix.lower()
    if not data.strip():
        raise UnreadableTable("the file is empty")
    if suffix in CSV_SUFFIXES or not suffix:
        return read_csv(data, limits=limits, names_only=suffix == ".txt")
    if suffix in EXCEL_SUFFIXES:
        return read_xlsx(data, sheet=sheet, limits=limits)
    if suffix in VECTOR_SUFFIXES:
        return read_vector(data, suffix, layer=sheet, limits=limits)
    if suffix in {".xls", ".et", ".ods", ".numbers"}:
        raise UnreadableTable(f"{suffix} workbooks are not read: save the sheet as .xlsx or as CSV")
    raise UnreadableTable(f"unknown file type {suffix!r}: accepted are {', '.join(SUFFIXES)}")


def read_text(text: str, *, limits: Limits | None = None) -> Table:
    """Pasted text: one name a line (one column, no header), or delimited lines with a header."""
    limits = limits or Limits()
    data = text.encode("utf-8")
    _check_size(len(data), limits)
    if not text.strip():
        raise UnreadableTable("the pasted text is empty")
    return read_csv(data, limits=limits, names_only=True)


def _check_size(size: int, limits: Limits) -> None:
    if size > limits.max_bytes:
        raise TooLarge(f"the file is larger than the {_mb(limits.max_bytes)} limit: split it")


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:g} MB"


# --------------------------------------------------------------------------- CSV and pasted text
def decode(data: bytes) -> str:
    """Text of a CSV as Excel and editors save it: UTF-8 (with or without BOM), UTF-16 with BOM, GB18030/GBK."""
    if b"\0" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableTable("the file is binary, not text: upload a CSV, an .xlsx workbook or a vector file")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    else:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                continue
    raise UnreadableTable("cannot read the file's text: it is neither UTF-8 nor GB18030/GBK; save it as CSV UTF-8")


def _delimiter(lines: list[str]) -> str | None:
    """Comma, tab or semicolon: the one found in the header the same number of times in most sample lines."""
    best, best_score = None, 0
    for delim in (",", "\t", ";"):
        counts = [line.count(delim) for line in lines]
        if not counts or counts[0] == 0:
            continue
        score = sum(c == counts[0] for c in counts) * 1000 + counts[0]
        if score > best_score:
            best, best_score = delim, score
    return best


def read_csv(data: bytes, *, limits: Limits | None = None, names_only: bool = False) -> Table:
    """A delimited text file with a header row. With `names_only`, text without any delimiter is read as one
    name a line (no header), as pasted lists are."""
    limits = limits or Limits()
    text = decode(data)
    sample = [line for line in text[: 1 << 16].splitlines()[:20] if line.strip()]
    if not sample:
        raise UnreadableTable("the file is empty")
    delim = _delimiter(sample)
    if delim is None and names_only:
        names = [line.strip() for line in text.splitlines()]
        names = [n for n in names if n]
        _check_rows(len(names), limits)
        frame = pd.DataFrame({"名称": names})
        return type_table(frame, "text")
    header_line = next(csv.reader(io.StringIO(text[: 1 << 20], newline=""), delimiter=delim or ","), [])
    _check_columns(len(header_line), limits)
    try:
        frame = _parse_fast(text, delim or ",")
    except (ValueError, pd.errors.ParserError):  # ragged rows, odd quoting: the careful reader below
        frame = _parse_careful(text, delim or ",", limits)
    if frame.shape[1] > limits.max_columns:
        _check_columns(frame.shape[1], limits)
    _check_rows(len(frame), limits)
    if frame.empty:
        raise UnreadableTable("the file has a header but no rows")
    return type_table(frame, "csv" if delim else "text")


def _parse_fast(text: str, delim: str) -> pd.DataFrame:
    """pandas' C parser, every cell as text; all-blank rows dropped."""
    raw = pd.read_csv(
        io.StringIO(text), sep=delim, header=None, dtype=str, keep_default_na=False, na_filter=False,
        skip_blank_lines=True, engine="c", quoting=csv.QUOTE_MINIMAL,
    )  # fmt: skip
    if raw.empty:
        raise UnreadableTable("the file is empty")
    header = raw.iloc[0].tolist()
    body = raw.iloc[1:]
    cells = body.to_numpy(dtype=object)
    kept = np.array([any(isinstance(c, str) and c.strip() for c in row) for row in cells], dtype=bool)
    return pd.DataFrame(cells[kept] if len(cells) else cells, columns=unique_columns(header))


def _parse_careful(text: str, delim: str, limits: Limits) -> pd.DataFrame:
    """Python's csv module, row by row, for files the C parser refuses (rows longer than the header)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise UnreadableTable(f"cannot read the CSV header: {exc}") from None
    rows: list[list[str]] = []
    width = len(header)
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > width:
                _check_columns(len(cells), limits)
                width = len(cells)
            rows.append(cells)
            _check_rows(len(rows), limits)
    except csv.Error as exc:
        raise UnreadableTable(f"malformed CSV at line {reader.line_num}: {exc}") from None
    columns = unique_columns(header + [""] * (width - len(header)))
    return pd.DataFrame([r + [""] * (width - len(r)) for r in rows], columns=columns, dtype=object)


def _check_rows(n: int, limits: Limits) -> None:
    if n > limits.max_rows:
        raise TooLarge(f"more than {limits.max_rows} rows: split the file")


def _check_columns(n: int, limits: Limits) -> None:
    if n > limits.max_columns:
        raise TooLarge(f"{n} columns, more than the {limits.max_columns} accepted: keep the columns you need")


def unique_columns(header: Iterable[object]) -> list[str]:
    """Column names made usable: trimmed, blanks named column_N, repeats suffixed _2, _3 …"""
    out: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(header, start=1):
        name = str(raw if raw is not None else "").replace("\ufeff", "").strip() or f"column_{i}"
        base, n = name, 1
        while name in seen:
            n += 1
            name = f"{base}_{n}"
        seen.add(name)
        out.append(name)
    return out


# --------------------------------------------------------------------------- Excel
def read_xlsx(data: bytes, *, sheet: str | None = None, limits: Limits | None = None) -> Table:
    """An .xlsx sheet (the first, or `sheet`): cached cell values only; formulas are never evaluated, so a formula
    cell that was never calculated is empty."""
    import openpyxl

    limits = limits or Limits()
    check_zip(data, limits, what="workbook")
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise UnreadableTable(f"cannot open the workbook: {type(exc).__name__}: {exc}".split("\n")[0]) from None
    try:
        names = book.sheetnames
        if sheet is not None and sheet not in names:
            raise BadRequest(f"no sheet {sheet!r} in the workbook: it has {', '.join(names)}")
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()  # read the cells there are, not the extent the file claims
        rows: list[list[Any]] = []
        header: list[Any] | None = None
        for values in ws.iter_rows(values_only=True):
            cells = list(values)
            while cells and (cells[-1] is None or (isinstance(cells[-1], str) and not cells[-1].strip())):
                cells.pop()
            _check_columns(len(cells), limits)
            if header is None:
                if cells:
                    header = cells
                continue
            if not cells:
                continue
            rows.append(cells)
            _check_rows(len(rows), limits)
    finally:
        book.close()
    if header is None:
        raise UnreadableTable(f"the sheet {ws.title!r} is empty")
    if not rows:
        raise UnreadableTable(f"the sheet {ws.title!r} has a header but no rows")
    width = max(len(header), *(len(r) for r in rows))
    columns = unique_columns(header + [None] * (width - len(header)))
    frame = pd.DataFrame([r + [None] * (width - len(r)) for r in rows], columns=columns, dtype=object)
    return type_table(frame, "xlsx")


# --------------------------------------------------------------------------- zip safety
def _safe_member(name: str) -> bool:
    if not name or "\0" in name or name.startswith(("/", "\\")) or PureWindowsPath(name).drive:
        return False
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return ".." not in parts


def check_zip(data: bytes, limits: Limits, *, what: str = "zip") -> zipfile.ZipFile:
    """Open a zip archive after checking every member's name (no absolute paths, no `..`) and the declared
    uncompressed total against `limits.max_unzipped_bytes`."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise UnreadableTable(f"the {what} is not a valid zip archive") from None
    members = archive.infolist()
    bad = [m.filename for m in members if not _safe_member(m.filename)]
    if bad:
        raise UnreadableTable(f"refused: the {what} has unsafe member names (absolute or with ..): {bad[0]!r}")
    total = sum(m.file_size for m in members)
    if total > limits.max_unzipped_bytes:
        raise TooLarge(f"the {what} unpacks to more than {_mb(limits.max_unzipped_bytes)}: refused")
    return archive


def _extract_shapefile(data: bytes, limits: Limits, target: Path, layer: str | None) -> Path:
    """Extract one Shapefile's parts from a zip into `target` under safe names, counting the bytes really
    written (a member may lie about its size); the .shp path."""
    archive = check_zip(data, limits, what="Shapefile zip")
    shps = [m for m in archive.infolist() if m.filename.lower().endswith(".shp") and not m.is_dir()]
    if not shps:
        raise UnreadableTable("the zip holds no .shp file: zip the .shp, .shx, .dbf and .prj of one Shapefile")
    stems = [PurePosixPath(m.filename.replace("\\", "/")).stem for m in shps]
    if layer is not None:
        if layer not in stems:
            raise BadRequest(f"no Shapefile {layer!r} in the zip: it has {', '.join(stems)}")
        chosen = layer
    elif len(shps) > 1:
        raise BadRequest(f"the zip holds several Shapefiles ({', '.join(stems)}): pick one with --sheet / sheet")
    else:
        chosen = stems[0]
    written = 0
    for member in archive.infolist():
        path = PurePosixPath(member.filename.replace("\\", "/"))
        if member.is_dir() or path.stem != chosen or path.suffix.lower() not in SHAPEFILE_PARTS:
            continue
        safe = "layer" + path.suffix.lower()
        with archive.open(member) as src, (target / safe).open("wb") as dst:
            while chunk := src.read(1 << 16):
                written += len(chunk)
                if written > limits.max_unzipped_bytes:
                    raise TooLarge(f"the Shapefile zip unpacks to more than {_mb(limits.max_unzipped_bytes)}: refused")
                dst.write(chunk)
    if not (target / "layer.dbf").exists() or not (target / "layer.shx").exists():
        raise UnreadableTable("the zipped Shapefile lacks its .dbf or .shx part")
    return target / "layer.shp"


# --------------------------------------------------------------------------- vector files
def check_xml(data: bytes) -> None:
    """Refuse XML that declares a DOCTYPE or entities (external entities, billion laughs) before GDAL parses it."""
    import defusedxml
    import defusedxml.ElementTree as SafeET

    try:
        SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException:
        raise UnreadableTable("refused: the KML declares a DOCTYPE or entities, which are not accepted") from None
    except SafeET.ParseError as exc:
        raise UnreadableTable(f"the KML is not well-formed XML: {exc}") from None


def read_vector(data: bytes, suffix: str, *, layer: str | None = None, limits: Limits | None = None) -> Table:
    """GeoJSON, GeoPackage, zipped Shapefile or KML through fiona; geometry reprojected to EPSG:4326."""
    import fiona
    from fiona.errors import FionaError
    from shapely.geometry import shape

    limits = limits or Limits()
    if suffix == ".kml":
        check_xml(data)
    with tempfile.TemporaryDirectory(prefix="import-") as tmp:
        if suffix == ".zip":
            path = _extract_shapefile(data, limits, Path(tmp), layer)
            layer = None
        else:
            path = Path(tmp) / f"upload{suffix}"
            path.write_bytes(data)
        try:
            layers = fiona.listlayers(path)
            if layer is not None and layer not in layers:
                raise BadRequest(f"no layer {layer!r} in the file: it has {', '.join(layers)}")
            name = layer if layer is not None else layers[0]
            driver = {".kml": "KML"}.get(suffix)
            props: list[dict[str, Any]] = []
            shapes: list[Any] = []
            with fiona.open(path, layer=name, driver=driver, allow_unsupported_drivers=True) as src:
                crs = src.crs.to_string() if src.crs else None
                fields = list(src.schema.get("properties", {}))
                _check_columns(len(fields), limits)
                for feature in src:
                    props.append(dict(feature.properties or {}))
                    geom = feature.geometry
                    shapes.append(shape(geom) if geom is not None else None)
                    _check_rows(len(props), limits)
        except (FionaError, OSError, ValueError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UnreadableTable(f"cannot read the {suffix} file: {first}") from None
    if not props:
        raise UnreadableTable("the file holds no features")
    geometry = gpd.GeoSeries(shapes, crs=crs or "EPSG:4326")
    if geometry.crs is not None and geometry.crs.to_epsg() != 4326:
        geometry = geometry.to_crs(4326)
    columns = unique_columns(fields)
    frame = pd.DataFrame([[p.get(f) for f in fields] for p in props], columns=columns, dtype=object)
    table = type_table(frame, suffix.lstrip("."))
    table.geometry = geometry.reset_index(drop=True)
    return table


# --------------------------------------------------------------------------- column typing
_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?([eE][+-]?\d+)?$|^[+-]?\.\d+$")
_LEADING_ZERO = re.compile(r"^[+-]?0\d")
_DATE = re.compile(r"^(\d{4})(?:[-/.年])(\d{1,2})(?:[-/.月])(\d{1,2})日?(?:[ T]\d{1,2}:\d{2}(:\d{2})?)?$")


def _clean(value: Any) -> Any:
    """Strings trimmed and full-width forms folded; empty strings and NaN become None."""
    if value is None:
        return None
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip()
        return text or None
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def _text(value: Any) -> str | None:
    """A cell as text, as written (trimmed); None when empty."""
    if _clean(value) is None:
        return None
    return value.strip() if isinstance(value, str) else str(value)


def type_column(values: pd.Series) -> tuple[pd.Series, Kind]:
    """A column typed from its values: numbers (1,234 and full-width digits too) → int or float, dates (ISO,
    2021/3/5, 2021年3月5日, Excel dates) → datetime, anything else → text. Identifiers with a leading zero
    (0571) stay text."""
    import datetime as dt

    cells = values.to_numpy(dtype=object)
    if all(type(v) is str for v in cells):
        fast = _type_strings(values, cells)
        if fast is not None:
            return fast
    cleaned = [_clean(v) for v in cells]  # a list, so pandas never turns ints into floats on the way
    present = [v for v in cleaned if v is not None]
    as_text = pd.Series([_text(v) for v in cells], index=values.index, dtype=object)
    if not present or all(isinstance(v, bool | np.bool_) for v in present):
        return as_text, "text"
    if all(isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool) for v in present) or all(
        isinstance(v, str) and _NUMBER.match(v) and not _LEADING_ZERO.match(v) for v in present
    ):
        text = [None if v is None else str(v).replace(",", "") for v in cleaned]
        numbers = pd.to_numeric(pd.Series(text, index=values.index, dtype=object), errors="coerce")
        integral = all(
            isinstance(v, int | np.integer) or (isinstance(v, str) and not re.search(r"[.eE]", v)) for v in present
        )
        if integral and (numbers.dropna().abs() < 2**53).all():
            return numbers.round().astype("Int64"), "int"
        return numbers.astype(float), "float"
    if all(isinstance(v, dt.date) for v in present) or all(isinstance(v, str) and _DATE.match(v) for v in present):

        def as_date(v: Any) -> Any:
            if v is None:
                return pd.NaT
            if isinstance(v, dt.date):
                return pd.Timestamp(v)
            m = _DATE.match(v)
            assert m is not None
            try:
                return pd.Timestamp(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                return pd.NaT

        parsed = [as_date(v) for v in cleaned]
        if sum(p is not pd.NaT for p in parsed) == len(present):
            return pd.Series(pd.to_datetime(parsed), index=values.index), "date"
    return as_text, "text"


def _type_strings(values: pd.Series, cells: np.ndarray) -> tuple[pd.Series, Kind] | None:
    """The common case decided fast (one C-level parse, regexes over the joined column): plain ASCII numbers,
    or text that is no number, no date and has no full-width forms. None when the careful path must decide."""
    stripped = [v.strip() for v in cells]
    filled = np.array([bool(v) for v in stripped])
    present = [v for v in stripped if v]
    if not present:
        return None
    joined = "\n".join(present)
    numbers = pd.to_numeric(pd.Series(present, dtype=object), errors="coerce").to_numpy(dtype=float)
    parsed = ~np.isnan(numbers)
    if parsed.all():
        if re.search(r"(?m)^[+-]?0\d", joined) or re.search(r"(?i)nan|inf", joined):
            return None
        full = np.full(len(stripped), np.nan)
        full[filled] = numbers
        if not re.search(r"[.eE]", joined) and (np.abs(numbers) < 2**53).all():
            return pd.Series(full, index=values.index).round().astype("Int64"), "int"
        return pd.Series(full, index=values.index), "float"
    if parsed.any() or re.search(r"(?m)^\d{4}[-/.年]", joined) or unicodedata.normalize("NFKC", joined) != joined:
        return None  # numbers with commas or full-width digits, dates: the careful path
    return pd.Series([v or None for v in stripped], index=values.index, dtype=object), "text"


def type_table(frame: pd.DataFrame, fmt: str) -> Table:
    """A Table whose every column is typed by `type_column`."""
    kinds: dict[str, Kind] = {}
    typed: dict[str, pd.Series] = {}
    for col in frame.columns:
        typed[col], kinds[col] = type_column(frame[col])
    return Table(pd.DataFrame(typed, index=pd.RangeIndex(len(frame))), kinds, None, fmt)


__all__ = [
    "SUFFIXES",
    "Limits",
    "Table",
    "TooLarge",
    "UnreadableTable",
    "check_xml",
    "check_zip",
    "decode",
    "read_csv",
    "read_table",
    "read_text",
    "read_vector",
    "read_xlsx",
    "type_column",
    "unique_columns",
]
