"""Lyrics preparation: clean raw lyrics, keep every analysed line's original line number,
and split long lyrics into chunks that fit a model's token limit.

Nothing is truncated: a 100 KB text becomes many chunks, all analysed.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

SECTION_MARKER = re.compile(
    r"^\s*[\[\(\{<]\s*(?:verse|chorus|pre-?chorus|post-?chorus|bridge|hook|intro|outro|refrain|"
    r"interlude|instrumental|break|tag|coda|breakdown|drop|solo|spoken|x\s*\d+|\d+\s*x|repeat)"
    r"[^\]\)\}>]*[\]\)\}>]\s*$",
    re.IGNORECASE,
)
# Any other whole-line bracketed note such as "[Kashflo Dee:]" or "[x2]".
BRACKET_LINE = re.compile(r"^\s*\[[^\]]{0,80}\]\s*$")
# Regular expressions here run on untrusted text: none may backtrack quadratically. A match
# never starts with an unbounded run (a leading \s* would retry from every space of a long
# run), and the "Embed" suffix and <script> blocks are found without regex backtracking.
INLINE_REPEAT = re.compile(r"[\[\(]\s*(?:x\s*\d+|\d+\s*x|repeat\s*\w*)\s*[\]\)]\s*$", re.I)
LRC_TIMESTAMP = re.compile(r"\[\d{1,3}:\d{2}(?:[.:]\d{1,3})?\]")
LRC_TAG = re.compile(r"^\s*\[(?:ar|ti|al|au|by|offset|length|re|ve|#)\s*:[^\]]*\]\s*$", re.I)
HTML_TAG = re.compile(r"<[^<>\n]{0,500}>")
BR_TAG = re.compile(r"<\s*br\s*/?\s*>", re.I)
SCRIPT_OPEN = re.compile(r"<\s*(script|style)[^<>]*>", re.I)
SCRIPT_CLOSE = {kind: re.compile(rf"<\s*/\s*{kind}\s*>", re.I) for kind in ("script", "style")}
JUNK_LINES = [
    re.compile(p, re.I)
    for p in (
        r"^\d*\s*embed$",
        r"^you might also like\b.*$",
        r"^see .{1,80} live$",
        r"^get tickets as low as .*$",
        r"^\d+\s+contributors?\b.*$",
        r"^.{0,120}\blyrics$",
        r"^translations?\b.*$",
        r"^\*{3,}+(?>.*?lyrics).*?not for commercial use",
        r"^paroles de la chanson.*$",
    )
]
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]+")

ENGLISH_WORDS = frozenset(
    ["the", "a", "an", "and", "or", "but", "i", "you", "he", "she", "it", "we", "they", "me", "my", "your", "our", "his", "her", "their", "is", "are", "was", "were", "be", "been", "am", "do", "does", "did", "have", "has", "had", "will", "would", "can", "could", "shall", "should", "to", "of", "in", "on", "at", "for", "with", "from", "by", "up", "down", "out", "not", "no", "so", "all", "this", "that", "what", "when", "where", "who", "why", "how", "love", "lord", "god", "oh", "just", "like", "know", "go", "come", "get", "got", "one", "time", "night", "day", "heart"]
)


class LyricsError(ValueError):
    """Input that cannot be read as lyrics; the message says why in plain words."""


@dataclass(frozen=True)
class LyricLine:
    number: int  # 1-based line number in the original text
    text: str


@dataclass(frozen=True)
class Chunk:
    lines: tuple[LyricLine, ...]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


@dataclass
class PreparedLyrics:
    lines: list[LyricLine]
    notes: list[str] = field(default_factory=list)
    english_share: float = 1.0

    @property
    def is_empty(self) -> bool:
        return not self.lines

    @property
    def is_english(self) -> bool:
        return self.english_share >= 0.15

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    def first_lines(self) -> list[LyricLine]:
        """The first occurrence of each distinct line, in order (choruses repeat)."""
        first: dict[str, LyricLine] = {}
        for line in self.lines:
            first.setdefault(line.text, line)
        return list(first.values())

    def distinct_lines(self) -> list[str]:
        """Each distinct line text once, in first-seen order."""
        return [line.text for line in self.first_lines()]


def decode_lyrics(data: bytes, stray_nul: bool = False) -> str:
    """Bytes from a file or upload to text; refuses binary data with a clear message.

    ``stray_nul``: a few NUL bytes do not make the file binary (a CSV or JSON file, whose
    importer reports the rows holding them); only a file of more than 10% NULs is refused.
    """
    if not data:
        return ""
    sample = data[:4096]
    nul = sample.count(0) > len(sample) // 10 if stray_nul else b"\x00" in sample
    if nul and not (sample.startswith((b"\xff\xfe", b"\xfe\xff"))):
        raise LyricsError("this looks like a binary file, not lyrics text (it contains NUL bytes)")
    for encoding in ("utf-8-sig", "utf-16") if sample.startswith((b"\xff\xfe", b"\xfe\xff")) else ("utf-8-sig",):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    # Not UTF-8: most lyrics files that are not UTF-8 are Windows-1252; keep going, but the
    # replacement characters make any real damage visible.
    return data.decode("cp1252", errors="replace")


def _strip_trailing_embed(line: str) -> str:
    """Drop a lyric site's "12Embed" / "Embed" suffix (digits, spaces, "Embed", spaces)."""
    body = line.rstrip()[: -len("Embed")]
    end = len(body)
    while end and body[end - 1].isspace():
        end -= 1
    while end and body[end - 1].isdecimal():
        end -= 1
    return body[:end]


def _drop_script_blocks(text: str) -> str:
    """Remove <script>/<style> blocks in one pass; an opening tag without its closing tag
    stays (a lazy ``.*?`` regex would rescan the rest of the text from every opening tag)."""
    out: list[str] = []
    position = 0
    unclosed: set[str] = set()
    while match := SCRIPT_OPEN.search(text, position):
        kind = match.group(1).lower()
        close = None if kind in unclosed else SCRIPT_CLOSE[kind].search(text, match.end())
        if close is None:
            unclosed.add(kind)
            out.append(text[position : match.end()])
            position = match.end()
            continue
        out.append(text[position : match.start()])
        position = close.end()
    out.append(text[position:])
    return "".join(out)


def _clean_line(raw: str) -> str:
    line = LRC_TIMESTAMP.sub("", raw)
    line = HTML_TAG.sub(" ", line)
    line = html.unescape(line)
    line = CONTROL.sub("", line)
    line = unicodedata.normalize("NFKC", line)
    line = line.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    line = _strip_trailing_embed(line) if line.rstrip().endswith("Embed") and len(line) > 5 else line
    line = INLINE_REPEAT.sub("", line)
    return SPACES.sub(" ", line).strip()


def _is_junk(line: str) -> bool:
    return bool(SECTION_MARKER.match(line) or BRACKET_LINE.match(line) or LRC_TAG.match(line)) or any(
        p.match(line) for p in JUNK_LINES
    )


def looks_binary(text: str) -> bool:
    """NUL bytes, or more than 10% control characters, mean this is not text."""
    if "\x00" in text:
        return True
    sample = text[:8192]
    controls = len(CONTROL.findall(sample))
    return bool(sample) and controls / len(sample) > 0.1


def english_share(lines: Iterable[str]) -> float:
    words = [w for line in lines for w in re.findall(r"[^\W\d_]+", line.lower())]
    if not words:
        return 1.0
    return sum(w in ENGLISH_WORDS for w in words) / len(words)


def prepare(text: str) -> PreparedLyrics:
    """Clean lyrics and map each kept line to its line number in ``text``."""
    if not isinstance(text, str):
        raise LyricsError(f"lyrics must be text, got {type(text).__name__}")
    if looks_binary(text):
        raise LyricsError("this looks like binary data, not lyrics text (it is full of control characters)")
    notes: list[str] = []
    if "\ufffd" in text:
        notes.append("Some characters could not be decoded; the text may be in the wrong encoding.")
    # Line numbers refer to ``text`` as given; only HTML with <br> tags (one line in the
    # source, several on screen) is numbered after the tags become line breaks.
    source = BR_TAG.sub("\n", _drop_script_blocks(text)) if "<" in text else text
    lines: list[LyricLine] = []
    for number, raw in enumerate(source.splitlines(), start=1):
        if LRC_TAG.match(raw) or BRACKET_LINE.match(raw.strip()):
            continue
        cleaned = _clean_line(raw)
        if cleaned and not _is_junk(cleaned):
            lines.append(LyricLine(number, cleaned))
    share = english_share(line.text for line in lines)
    prepared = PreparedLyrics(lines=lines, notes=notes, english_share=share)
    if lines and not prepared.is_english:
        notes.append("The lyrics do not look like English; the models are English-only, so results are unreliable.")
    return prepared


def chunk_lines(
    lines: list[LyricLine], count_tokens: Callable[[str], int], max_tokens: int
) -> list[Chunk]:
    """Group consecutive lines into chunks of at most ``max_tokens`` tokens.

    A single line longer than the limit is split on word boundaries into pieces that keep
    its line number, so every word is analysed.
    """
    chunks: list[Chunk] = []
    current: list[LyricLine] = []
    used = 0
    for line in lines:
        for piece in split_long_line(line, count_tokens, max_tokens):
            cost = count_tokens(piece.text) + 1
            if current and used + cost > max_tokens:
                chunks.append(Chunk(tuple(current)))
                current, used = [], 0
            current.append(piece)
            used += cost
    if current:
        chunks.append(Chunk(tuple(current)))
    return chunks


def split_long_line(line: LyricLine, count_tokens: Callable[[str], int], max_tokens: int) -> list[LyricLine]:
    """Pieces of ``line`` under ``max_tokens`` tokens each, cut on spaces (a single word over
    the limit is cut by characters); every piece keeps the line's number.

    Each piece is the longest run of words that fits, found by galloping and bisection, and
    the tokenizer only ever sees a bounded window: time grows with the line's length, not
    with its square (a 1 MB line without breaks is split in seconds, not minutes).
    """
    if _fits(line.text, count_tokens, max_tokens):
        return [line]
    words = line.text.split(" ")
    if len(words) == 1:
        return [LyricLine(line.number, text) for text in _cut_characters(line.text, count_tokens, max_tokens)]
    pieces: list[LyricLine] = []
    start, guess = 0, 16
    while start < len(words):
        end = _longest_fit(words, start, guess, count_tokens, max_tokens)
        pieces.append(LyricLine(line.number, " ".join(words[start:end])))
        guess, start = end - start, end
    result: list[LyricLine] = []
    for piece in pieces:
        if " " in piece.text or count_tokens(piece.text) < max_tokens:  # a run of words fits by construction
            result.append(piece)
        else:  # a single "word" over the limit (no spaces, e.g. a base64 blob): cut it by characters
            result.extend(LyricLine(piece.number, text) for text in _cut_characters(piece.text, count_tokens, max_tokens))
    return result


def _fits(text: str, count_tokens: Callable[[str], int], max_tokens: int) -> bool:
    """``count_tokens(text) < max_tokens``, without tokenizing all of a huge text: a head of
    ``4 * max_tokens`` characters holding twice the budget already says no."""
    head = text[: 4 * max_tokens]
    tokens = count_tokens(head)
    if len(head) == len(text):
        return tokens < max_tokens
    return tokens < 2 * max_tokens and count_tokens(text) < max_tokens


def _cut_characters(text: str, count_tokens: Callable[[str], int], max_tokens: int) -> list[str]:
    """``text`` in consecutive pieces under ``max_tokens`` tokens (or one character).

    A piece's length is estimated from a window of the next characters (or the previous
    piece, while pieces keep filling most of the budget) and shrunk until it fits, so the
    tokenizer sees each character a few times, never the rest of the text per piece."""
    window = 4 * max_tokens  # a token is at least one character
    pieces: list[str] = []
    position, cut = 0, 0
    while len(text) - position > 1:
        if not cut or cut >= len(text) - position:
            head = text[position : position + window]
            tokens = count_tokens(head)
            if tokens < max_tokens and position + len(head) == len(text):
                break
            cut = len(head) if tokens < max_tokens else max(1, len(head) * (max_tokens - 1) // tokens)
        while (tokens := count_tokens(text[position : position + cut])) >= max_tokens and cut > 1:
            cut = max(1, min(cut - 1, cut * (max_tokens - 1) // tokens))  # tokens are not spread evenly
        pieces.append(text[position : position + cut])
        position += cut
        if tokens < max_tokens // 2:
            cut = 0  # sparser text ahead: estimate again
    pieces.append(text[position:])
    return pieces


def _longest_fit(
    words: list[str], start: int, guess: int, count_tokens: Callable[[str], int], max_tokens: int
) -> int:
    """The largest ``end`` such that words[start:end] joined fits under ``max_tokens``; at
    least ``start + 1`` (a word over the limit stands alone). ``guess``, the previous
    piece's length, is tried first: in even text it is right within a word or two."""

    def fits(end: int) -> bool:
        return count_tokens(" ".join(words[start:end])) < max_tokens

    count = len(words)
    low = start + 1  # taken whatever its size
    if low == count or not fits(low + 1):
        return low
    low += 1  # invariant from here: words[start:low] fits; words[start:high] does not
    high: int | None = None
    probe = start + guess
    step = max(1, guess)
    if low < probe < count:
        step = 1
        if fits(probe):
            low = probe
        else:  # gallop down from the guess
            high = probe
            while (candidate := high - step) > low:
                if fits(candidate):
                    low = candidate
                    break
                high, step = candidate, step * 2
    while high is None:  # gallop up until a run does not fit, or the words end
        candidate = min(count, low + step)
        if candidate == low:
            return low
        if fits(candidate):
            low, step = candidate, step * 2
        else:
            high = candidate
    while high - low > 1:
        middle = (low + high) // 2
        if fits(middle):
            low = middle
        else:
            high = middle
    return low
