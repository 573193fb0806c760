"""Image and focus-map files: reading at any bit depth, atomic writing, image-set discovery.

In memory an image is float32 ``(H, W, C)`` in [0, 1] with C = 1 or 3; on disk it keeps its own bit depth
(8 or 16). Focus-map files (README, "Outputs"): K = 2 is a single-channel PNG, maximum where source 1 is
sharpest; K > 2 is a label image holding the 1-based index of the sharpest source, 8-bit up to K = 255 and
16-bit beyond (up to K = 65535).
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import struct
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import imageio.v3 as iio
import imagecodecs
import numpy as np
import tifffile

IMAGE_EXTENSIONS = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp", ".gif")
_UMASK = os.umask(0)
os.umask(_UMASK)
_SOURCE_NAME = re.compile(r"^source_(\d+)$")
# the most pixels a file may declare (16384 x 16384): a damaged or hostile header cannot make the
# readers allocate gigabytes (Pillow refuses above ~179 M pixels on its own)
MAX_PIXELS = 1 << 28


class ImageError(ValueError):
    """A file that cannot be used as an image (unreadable, wrong shape, NaN, mismatched set...)."""


def _to_float(array: np.ndarray, path: Path) -> tuple[np.ndarray, int]:
    """Scale an integer or float array to float32 [0, 1]; return it with its bit depth (8, 16 or 32)."""
    if array.dtype == np.bool_:
        return array.astype(np.float32), 8
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0, 8
    if array.dtype == np.uint16:
        return array.astype(np.float32) / 65535.0, 16
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)):
            raise ImageError(f"{path}: image holds NaN or infinite values")
        lo, hi = float(array.min()), float(array.max())
        if lo < 0.0 or hi > 1.0:
            raise ImageError(f"{path}: float image values must lie in [0, 1], found [{lo:g}, {hi:g}]")
        return array.astype(np.float32), 32
    raise ImageError(f"{path}: unsupported pixel type {array.dtype} (use 8- or 16-bit, or float in [0, 1])")


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


_OTHER_SIGNATURES = (b"\xff\xd8\xff", b"BM", b"GIF87a", b"GIF89a")


def _known_signature(path: Path) -> bool:
    """Whether a file starts like a PNG, TIFF, JPEG, BMP or GIF (only to word an error message)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError:
        return True
    return head.startswith((_PNG_SIGNATURE, *_TIFF_SIGNATURES, *_OTHER_SIGNATURES))


def _check_pixels(path: Path, height: int, width: int) -> None:
    if height * width > MAX_PIXELS:
        raise ImageError(
            f"{path}: declares {width}x{height} pixels, more than the {MAX_PIXELS} this reader accepts "
            "(a damaged header?)"
        )


@contextlib.contextmanager
def _quiet_decoders():
    """Silence the decoders' own warnings and tifffile's log lines about damaged tags while a file is read:
    a file either gives an image or one :class:`ImageError`, never extra lines on stderr."""
    log = logging.getLogger("tifffile")
    disabled = log.disabled
    log.disabled = True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        log.disabled = disabled


def _decode(path: Path) -> np.ndarray:
    """Decode by content: PNG with imagecodecs and TIFF with tifffile (both keep 16-bit colour, which
    Pillow truncates to 8 bits), anything else with imageio. The size a PNG or TIFF header declares is
    checked before anything is decoded."""
    with open(path, "rb") as handle:
        head = handle.read(24)
    if head[:8] == _PNG_SIGNATURE:
        if len(head) == 24 and head[12:16] == b"IHDR":
            width, height = struct.unpack(">II", head[16:24])
            _check_pixels(path, height, width)
        return np.asarray(imagecodecs.png_decode(path.read_bytes()))
    if head[:4] in _TIFF_SIGNATURES:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages[0]
            _check_pixels(path, int(page.imagelength), int(page.imagewidth))
            return np.asarray(page.asarray())
    return np.asarray(iio.imread(path))


def _encode(tmp: Path, data: np.ndarray, suffix: str, metadata: "PhotoMetadata | None" = None,
            jpeg_quality: int = 95) -> None:
    """Write ``data`` (uint8/uint16, gray or colour) in the format that ``suffix`` names, with the photo
    ``metadata`` that format holds (ICC profile: PNG, TIFF, JPEG; EXIF: JPEG, and its first-IFD tags in TIFF)."""
    icc = metadata.icc if metadata is not None else None
    exif = metadata.exif if metadata is not None else None
    if suffix == ".png":
        encoded = imagecodecs.png_encode(data)
        tmp.write_bytes(_png_with_icc(encoded, icc) if icc else encoded)
    elif suffix in (".tif", ".tiff"):
        extra = {"iccprofile": icc} if icc else {}
        if exif:
            extra["extratags"] = _tiff_tags(exif)
        tifffile.imwrite(tmp, data, photometric="rgb" if data.ndim == 3 else "minisblack", **extra)
    elif suffix in (".jpg", ".jpeg"):
        extra = {"icc_profile": icc} if icc else {}
        if exif:
            extra["exif"] = exif
        iio.imwrite(tmp, data, extension=suffix, quality=jpeg_quality, **extra)
    else:
        iio.imwrite(tmp, data, extension=suffix)


def read_image_and_depth(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read an image as float32 ``(H, W, C)`` in [0, 1] and return it with its bit depth.

    Gray images get C = 1; an alpha channel is dropped; animated files keep their first frame.
    Raises :class:`ImageError` naming the file for anything that is not a usable image.
    """
    path = Path(path)
    if not path.is_file():
        if path.is_dir():
            raise ImageError(f"{path}: no such file (it is a directory)")
        raise ImageError(f"{path}: {'not a regular file' if path.exists() else 'no such file'}")
    if path.stat().st_size == 0:
        raise ImageError(f"{path}: file is empty")
    try:
        with _quiet_decoders():
            array = _decode(path)
    except ImageError:
        raise
    except Exception as error:  # imageio raises many kinds of errors for bad files
        if not _known_signature(path):
            raise ImageError(f"{path}: not an image file (its content is none of PNG, TIFF, JPEG, BMP, GIF)") from None
        if isinstance(error, UnicodeDecodeError):  # libpng's message about a damaged chunk, undecodable
            detail = "damaged data"
        else:
            detail = " ".join(f"{type(error).__name__}: {error}".split())[:300]
        raise ImageError(f"{path}: cannot be read as an image ({detail})") from None
    if array.size == 0:
        raise ImageError(f"{path}: image has no pixels")
    if path.suffix.lower() == ".gif" and array.ndim >= 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 2, 3, 4):
        raise ImageError(f"{path}: expected a 2-D gray or colour image, got an array of shape {array.shape}")
    if array.shape[2] in (2, 4):  # drop alpha
        array = array[:, :, :-1]
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise ImageError(f"{path}: image has no pixels")
    array = apply_orientation(array, image_orientation(path))  # photos: EXIF Orientation, upright
    image, depth = _to_float(array, path)
    return np.ascontiguousarray(image), depth


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an 8/16-bit PNG, TIFF or JPEG (or float TIFF) as float32 ``(H, W, C)`` in [0, 1]."""
    return read_image_and_depth(path)[0]


def _quantise(image: np.ndarray, bit_depth: int) -> np.ndarray:
    """Round a float image in [0, 1] to uint8 or uint16."""
    if bit_depth not in (8, 16):
        raise ValueError(f"bit_depth must be 8 or 16, got {bit_depth}")
    top = 255 if bit_depth == 8 else 65535
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    return np.round(np.clip(image, 0.0, 1.0) * top).astype(dtype)


def _naming(error: OSError, path: Path) -> OSError:
    """The same OSError (same errno, so the same subclass), naming ``path`` instead of a temporary file."""
    if error.errno is None:
        return OSError(f"{path}: cannot write ({error})")
    return OSError(error.errno, error.strerror or str(error), str(path))


def _about_temporary(error: OSError, path: Path) -> bool:
    """Whether an OSError names no file or one of ``path``'s temporaries (not a folder or another file)."""
    if error.filename is None:
        return True
    named = Path(os.fsdecode(error.filename))
    return named.parent == path.parent and named.name.startswith(f".{path.stem}.")


def atomic_write(path: str | os.PathLike, write) -> None:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it into place.

    A crash or an error leaves ``path`` as it was (absent, or its old content), no temporary file and no
    folder that this call created. An ``OSError`` (read-only folder, full disk...) is raised again with its
    errno, naming ``path``.
    """
    atomic_write_all([(path, write)])


def save_figure(figure, path: str | os.PathLike, *, dpi: int = 100) -> None:
    """Write a matplotlib figure as a PNG at ``dpi``, atomically (:func:`atomic_write`), with reproducible
    metadata (no software stamp, so a rerun writes the same bytes), then close it where pyplot holds it.

    The one figure writer of the package: matplotlib is not imported here, the figure brings it.
    """
    atomic_write(path, lambda tmp: figure.savefig(tmp, format="png", dpi=dpi, metadata={"Software": None}))
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(figure)


def atomic_write_all(items: Sequence[tuple[str | os.PathLike, Callable[[Path], object]]]) -> None:
    """:func:`atomic_write` for files that belong together (a fused image and its map): each ``write(tmp)``
    fills a temporary beside its path, and only once all of them succeeded are they renamed into place,
    so an error leaves every path as it was, no temporary file and no folder that this call created.
    """
    staged: list[tuple[Path, Path]] = []
    created: list[Path] = []
    current = None
    try:
        for target, write in items:
            current = Path(target)
            created += [p for p in (current.parent, *current.parent.parents) if not p.exists() and p not in created]
            current.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f".{current.stem}.", suffix=current.suffix, dir=current.parent)
            os.close(fd)
            staged.append((current, Path(name)))
            write(Path(name))
            os.chmod(name, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the mode a plain open() would
        for current, tmp in staged:
            os.replace(tmp, current)
    except BaseException as error:
        for _, tmp in staged:
            tmp.unlink(missing_ok=True)
        for folder in sorted(created, key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):  # a folder something else wrote into meanwhile stays
                folder.rmdir()
        if isinstance(error, OSError) and current is not None and _about_temporary(error, current):
            raise _naming(error, current) from error
        raise


def write_image(path: str | os.PathLike, image: np.ndarray, bit_depth: int = 8, *,
                metadata: "PhotoMetadata | None" = None, jpeg_quality: int = 95) -> None:
    """Write an image (``(H, W)`` or ``(H, W, C)``, C = 1 or 3) at 8 or 16 bits, atomically.

    Float values in [0, 1] are rounded to ``bit_depth`` bits (outside values are clipped); uint8 and uint16
    arrays are written as they are (bool as 0/255). PNG and TIFF hold both depths; JPEG (written at
    ``jpeg_quality``, 1-100, default 95), BMP and GIF hold 8 bits only, so 16-bit data are rounded to 8 bits
    there. ``metadata`` (:func:`read_photo_metadata`): its ICC profile goes into JPEG, TIFF and PNG files,
    its EXIF into JPEG (whole) and TIFF (the camera tags of the first IFD). Anything else raises ValueError
    naming ``path``, and nothing is written.
    """
    if not (isinstance(jpeg_quality, (int, np.integer)) and 1 <= int(jpeg_quality) <= 100):
        raise ValueError(f"jpeg_quality: must be an integer in 1..100, got {jpeg_quality!r}")
    path = Path(path)
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f"{path}: cannot write an array of shape {image.shape} as an image (H, W) or (H, W, 1 or 3)")
    if image.size == 0:
        raise ValueError(f"{path}: cannot write an image without pixels (shape {image.shape})")
    if image.dtype == np.bool_:
        image = image.astype(np.uint8) * np.uint8(255)
    if np.issubdtype(image.dtype, np.floating):
        if not np.all(np.isfinite(image)):
            raise ValueError(f"{path}: refusing to write an image with NaN or infinite values")
    elif image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"{path}: cannot write pixels of type {image.dtype} (use float in [0, 1], uint8 or uint16)")
    suffix = path.suffix.lower()
    if suffix not in IMAGE_EXTENSIONS:
        raise ValueError(f"{path}: unknown image extension {path.suffix!r}")
    if bit_depth not in (8, 16):
        raise ValueError(f"bit_depth must be 8 or 16, got {bit_depth}")
    if suffix not in (".png", ".tif", ".tiff"):
        bit_depth = 8  # JPEG, BMP and GIF hold 8 bits only
        if image.dtype == np.uint16:
            image = image.astype(np.float32) / 65535.0
    data = _quantise(image, bit_depth) if np.issubdtype(image.dtype, np.floating) else image
    if metadata is not None and not (metadata.icc or metadata.exif):
        metadata = None
    extra = {} if metadata is None and jpeg_quality == 95 else {"metadata": metadata, "jpeg_quality": int(jpeg_quality)}
    atomic_write(path, lambda tmp: _encode(tmp, data, suffix, **extra))


def read_image_set(paths: Sequence[str | os.PathLike]) -> tuple[np.ndarray, int]:
    """Read K >= 2 registered sources into float32 ``(K, H, W, C)``; return them and their bit depth.

    All sources must share height, width, channel count and bit depth; the error names the odd file.
    """
    if len(paths) < 2:
        named = ", ".join(str(p) for p in paths) or "no file"
        raise ImageError(f"{named}: multi-focus fusion needs at least two sources, got {len(paths)}")
    images, depths = zip(*(read_image_and_depth(p) for p in paths))
    first = Path(paths[0])
    for path, image, depth in zip(paths[1:], images[1:], depths[1:]):
        if image.shape[:2] != images[0].shape[:2]:
            raise ImageError(
                f"{path}: size {image.shape[1]}x{image.shape[0]} differs from {first} "
                f"({images[0].shape[1]}x{images[0].shape[0]})"
            )
        if image.shape[2] != images[0].shape[2]:
            raise ImageError(
                f"{path}: {image.shape[2]} channel(s) but {first} has {images[0].shape[2]}"
            )
        if depth != depths[0]:
            raise ImageError(f"{path}: bit depth {depth} differs from {first} ({depths[0]})")
    return np.stack(images), depths[0]


def read_focus_map(path: str | os.PathLike, n_sources: int, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Read a focus-map file as a one-hot float32 ``(K, H, W)`` map (the file convention of the module docstring).

    K = 2: values above half the maximum mean source 1. K > 2: 1-based labels of the sharpest source (8-bit, or
    16-bit for K > 255: the file's bit depth says which).
    """
    path = Path(path)
    image, depth = read_image_and_depth(path)
    if image.shape[2] != 1:
        image = image.mean(axis=2, keepdims=True)
    plane = image[:, :, 0]
    if shape is not None and plane.shape != tuple(shape):
        raise ImageError(
            f"{path}: focus map is {plane.shape[1]}x{plane.shape[0]} but the sources are {shape[1]}x{shape[0]}"
        )
    if n_sources == 2:
        first = (plane > 0.5).astype(np.float32)
        return np.stack([first, 1.0 - first])
    top = 255 if depth == 8 else 65535
    labels = np.round(plane * top).astype(np.int64)
    if labels.min() < 1 or labels.max() > n_sources:
        raise ImageError(f"{path}: labels must lie in 1..{n_sources}, found {labels.min()}..{labels.max()}")
    return np.stack([(labels == k + 1).astype(np.float32) for k in range(n_sources)])


def write_focus_map(path: str | os.PathLike, focus_map: np.ndarray) -> None:
    """Write a ``(K, H, W)`` focus map as its file is defined (module docstring): a single-channel PNG, 8-bit
    (16-bit label map when K > 255)."""
    focus_map = np.asarray(focus_map, dtype=np.float32)
    if focus_map.ndim != 3 or focus_map.shape[0] < 2:
        raise ValueError(f"{path}: a focus map has shape (K>=2, H, W), got {focus_map.shape}")
    if focus_map.shape[0] == 2:
        data = np.round(np.clip(focus_map[0], 0.0, 1.0) * 255).astype(np.uint8)
    elif focus_map.shape[0] > 65535:
        raise ValueError(f"{path}: a label map holds at most 65535 sources, got {focus_map.shape[0]}")
    else:
        labels = np.argmax(focus_map, axis=0) + 1
        data = labels.astype(np.uint8 if focus_map.shape[0] <= 255 else np.uint16)
    atomic_write(path, lambda tmp: _encode(tmp, data, ".png"))


@dataclass
class ImageSetFiles:
    """The files of one image set: its sources in order, and its optional reference and focus map."""

    set_id: str
    sources: list[Path] = field(default_factory=list)
    reference: Path | None = None
    focus_map: Path | None = None


def find_image_sets(root: str | os.PathLike) -> dict[str, ImageSetFiles]:
    """Find ``<root>/<set_id>/source_k.<ext>`` image sets (with ``reference``/``focus_map``), by set id.

    Folders with fewer than two sources are skipped; sources are ordered by k.
    """
    root = Path(root)
    if not root.is_dir():
        raise ImageError(f"{root}: no such directory")
    sets: dict[str, ImageSetFiles] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        files = ImageSetFiles(folder.name)
        numbered = []
        for item in folder.iterdir():
            if item.suffix.lower() not in IMAGE_EXTENSIONS or not item.is_file():
                continue
            match = _SOURCE_NAME.match(item.stem)
            if match:
                numbered.append((int(match.group(1)), item))
            elif item.stem == "reference":
                files.reference = item
            elif item.stem == "focus_map":
                files.focus_map = item
        files.sources = [item for _, item in sorted(numbered)]
        if len(files.sources) >= 2:
            sets[folder.name] = files
    return sets


# ------------------------------------------------------------------------- photos: orientation,
# ICC profile and EXIF, map previews
_EXIF_ORIENTATION = 0x0112
_TIFF_COPIED_TAGS = (271, 272, 306, 315, 33432)  # make, model, date, artist, copyright


@dataclass(frozen=True)
class PhotoMetadata:
    """What a fused photo inherits from its anchor frame: the ICC profile and the EXIF block (bytes, with
    Orientation reset to 1 because the pixels are read upright); either may be None."""

    icc: bytes | None = None
    exif: bytes | None = None


def image_orientation(path: str | os.PathLike) -> int:
    """The EXIF/TIFF Orientation (1-8) of an image file; 1 when it has none or it cannot be read (never raises)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
        if head in _TIFF_SIGNATURES:
            with _quiet_decoders(), tifffile.TiffFile(path) as tif:
                tag = tif.pages[0].tags.get(274)
                value = int(tag.value) if tag is not None else 1
        else:
            from PIL import Image

            with _quiet_decoders(), Image.open(path) as image:
                value = int(image.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:  # a damaged header or tag: the decoder reports what matters about the file
        return 1
    return value if 1 <= value <= 8 else 1


def apply_orientation(array: np.ndarray, orientation: int) -> np.ndarray:
    """Turn an ``(H, W[, C])`` array as EXIF ``orientation`` (1-8) asks, so that it displays upright
    (the transposes of Pillow's ``ImageOps.exif_transpose``)."""
    if orientation == 2:
        return array[:, ::-1]
    if orientation == 3:
        return array[::-1, ::-1]
    if orientation == 4:
        return array[::-1]
    if orientation == 5:
        return array.swapaxes(0, 1)
    if orientation == 6:
        return np.rot90(array, -1)
    if orientation == 7:
        return array[::-1, ::-1].swapaxes(0, 1)
    if orientation == 8:
        return np.rot90(array, 1)
    return array


def read_photo_metadata(path: str | os.PathLike) -> PhotoMetadata:
    """The ICC profile and EXIF (Orientation set to 1) of a JPEG, PNG or TIFF file; empty when it has none.

    Never raises for a file :func:`read_image` accepts; an unreadable block is left out.
    """
    from PIL import Image

    icc = exif = None
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
        if head in _TIFF_SIGNATURES:
            with _quiet_decoders(), tifffile.TiffFile(path) as tif:
                tags = tif.pages[0].tags
                tag = tags.get(34675)
                icc = bytes(tag.value) if tag is not None else None
                copied = Image.Exif()
                for code in _TIFF_COPIED_TAGS:
                    if code in tags and isinstance(tags[code].value, str):
                        copied[code] = tags[code].value
                if len(copied):
                    copied[_EXIF_ORIENTATION] = 1
                    exif = copied.tobytes()
        else:
            with _quiet_decoders(), Image.open(path) as image:
                icc = image.info.get("icc_profile") or None
                data = image.getexif()
                if len(data):
                    data[_EXIF_ORIENTATION] = 1
                    exif = data.tobytes()
    except Exception:
        pass
    return PhotoMetadata(icc=icc, exif=exif)


def _png_with_icc(encoded: bytes, icc: bytes) -> bytes:
    """A PNG with an ``iCCP`` chunk (profile name ``ICC``) inserted after its ``IHDR`` chunk."""
    import zlib

    body = b"ICC\x00\x00" + zlib.compress(icc)
    chunk = struct.pack(">I", len(body)) + b"iCCP" + body + struct.pack(">I", zlib.crc32(b"iCCP" + body) & 0xFFFFFFFF)
    end_of_ihdr = 8 + 8 + 13 + 4
    return encoded[:end_of_ihdr] + chunk + encoded[end_of_ihdr:]


def _tiff_tags(exif: bytes) -> list[tuple]:
    """tifffile ``extratags`` for the ASCII camera tags of an EXIF block (its first IFD)."""
    from PIL import Image

    data = Image.Exif()
    try:
        data.load(exif)
    except Exception:
        return []
    tags = []
    for code in _TIFF_COPIED_TAGS:
        value = data.get(code)
        if isinstance(value, str) and value and value.isascii():
            tags.append((code, "s", 0, value, True))
    return tags


# colours of the sources in a map preview (K > 2): Tableau 10, then evenly spread hues
_PREVIEW_COLOURS = (
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
)


def focus_map_preview(focus_map: np.ndarray, *, style: str = "color") -> np.ndarray:
    """A viewable uint8 rendering of a ``(K, H, W)`` focus map.

    K = 2: the gray map of the file (255 where source 1 is sharpest). K > 2: ``style="color"`` gives an RGB
    image, one colour per source (Tableau 10 for the first ten); ``style="gray"`` spreads the labels over
    0..255 (source 1 black, source K white).
    """
    focus_map = np.asarray(focus_map, dtype=np.float32)
    if focus_map.ndim != 3 or focus_map.shape[0] < 2:
        raise ValueError(f"focus_map: expected shape (K>=2, H, W), got {focus_map.shape}")
    if style not in ("color", "gray"):
        raise ValueError(f"style: expected 'color' or 'gray', got {style!r}")
    count = focus_map.shape[0]
    if count == 2:
        return np.round(np.clip(focus_map[0], 0.0, 1.0) * 255).astype(np.uint8)
    labels = np.argmax(focus_map, axis=0)
    if style == "gray":
        return np.round(labels * (255.0 / (count - 1))).astype(np.uint8)
    import colorsys

    colours = list(_PREVIEW_COLOURS[:count])
    for k in range(len(colours), count):
        r, g, b = colorsys.hsv_to_rgb((k - 10) / max(count - 10, 1), 0.65, 0.9)
        colours.append((round(r * 255), round(g * 255), round(b * 255)))
    return np.asarray(colours, dtype=np.uint8)[labels]


def write_focus_map_preview(path: str | os.PathLike, focus_map: np.ndarray, *, style: str = "color") -> None:
    """Write :func:`focus_map_preview` as an 8-bit PNG, atomically (a picture for people; the map file of
    :func:`write_focus_map` stays the machine-readable one)."""
    data = focus_map_preview(focus_map, style=style)
    atomic_write(path, lambda tmp: _encode(tmp, data, ".png"))
