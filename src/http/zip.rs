//! A zip archive of stored entries (no compression), laid out before a byte of it is sent:
//! its length is known in advance (`Content-Length`), any range of it can be produced on its
//! own (`Range`, for a download that resumes), and the files' bytes go through untouched.
//!
//! Every entry has a data descriptor (general purpose bit 3): its local header names it and
//! says nothing of its CRC-32, which follows the data. So the archive's bytes are the same
//! whether or not the CRC-32s were known when it started (a first download computes them as
//! the bytes pass; a resumed one needs them before the descriptors it sends). ZIP64 records
//! (APPNOTE 6.3.10 §4.3.9, §4.3.14, §4.5.3) are written for an entry whose size or offset does
//! not fit 32 bits, and for the archive when its entries, or its central directory's offset
//! or size, do not fit the classic end record. Names are UTF-8 (bit 11), made safe by
//! [`safe_names`].

use crate::http::range::Span;

/// An entry as the archive is asked for: its bytes come from elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// A safe name ([`safe_names`]).
    pub name: String,
    pub size: u64,
    /// Milliseconds since the epoch, written as an MS-DOS time (UTC).
    pub modified: u64,
}

/// Where the classic fields overflow: `u32::MAX` and `u16::MAX` (tests make them small to
/// write ZIP64 records for small archives).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_u32: u64,
    pub max_u16: u64,
}

pub const CLASSIC: Limits = Limits { max_u32: 0xFFFF_FFFF, max_u16: 0xFFFF };

/// A piece of the archive that is not a file's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Entry `i`'s local header (with its name).
    Local(usize),
    /// Entry `i`'s data descriptor (its CRC-32 and sizes).
    Descriptor(usize),
    /// The central directory and the end records.
    Directory,
}

/// A run of the archive's bytes, in order: a part (from `skip`, `take` bytes of it) or
/// entry `entry`'s bytes from `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    Part { part: Part, skip: u64, take: u64 },
    Data { entry: usize, offset: u64, len: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Placed {
    /// Where the local header starts.
    offset: u64,
    local_len: u64,
    descriptor_len: u64,
    /// Sizes and offset need the ZIP64 extra field.
    zip64: bool,
    /// The ZIP64 extra field's length in its central record (0: none).
    central_extra: u64,
}

/// The archive's layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive {
    entries: Vec<Entry>,
    placed: Vec<Placed>,
    directory_offset: u64,
    /// The central directory's length, without the end records.
    central_len: u64,
    /// Are ZIP64 end records needed?
    end64: bool,
    /// The central directory's and the end records' length.
    directory_len: u64,
    limits: Limits,
}

const LOCAL_SIG: u32 = 0x0403_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const DESCRIPTOR_SIG: u32 = 0x0807_4b50;
const END_SIG: u32 = 0x0605_4b50;
const END64_SIG: u32 = 0x0606_4b50;
const LOCATOR64_SIG: u32 = 0x0706_4b50;
/// Bit 3 (sizes and CRC-32 in the data descriptor) and bit 11 (UTF-8 names).
const FLAGS: u16 = (1 << 3) | (1 << 11);
const MADE_BY: u16 = (3 << 8) | 45; // Unix, APPNOTE 4.5
const UNIX_FILE: u32 = 0o100_644 << 16;

impl Archive {
    pub fn new(entries: Vec<Entry>) -> Archive {
        Archive::with_limits(entries, CLASSIC)
    }

    pub fn with_limits(entries: Vec<Entry>, limits: Limits) -> Archive {
        let mut placed = Vec::with_capacity(entries.len());
        let mut at = 0u64;
        for e in &entries {
            let zip64 = e.size >= limits.max_u32 || at >= limits.max_u32;
            let local_len = 30 + e.name.len() as u64 + if zip64 { 20 } else { 0 };
            let descriptor_len = if zip64 { 24 } else { 16 };
            let fields = 16 * u64::from(e.size >= limits.max_u32) + 8 * u64::from(at >= limits.max_u32);
            let central_extra = if fields > 0 { 4 + fields } else { 0 };
            placed.push(Placed { offset: at, local_len, descriptor_len, zip64, central_extra });
            at += local_len + e.size + descriptor_len;
        }
        let central: u64 = entries.iter().zip(&placed).map(|(e, p)| 46 + e.name.len() as u64 + p.central_extra).sum();
        let end64 = entries.len() as u64 >= limits.max_u16 || at >= limits.max_u32 || central >= limits.max_u32;
        let end_len = if end64 { 56 + 20 + 22 } else { 22 };
        Archive {
            entries,
            placed,
            directory_offset: at,
            central_len: central,
            end64,
            directory_len: central + end_len,
            limits,
        }
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The archive's length in bytes.
    pub fn len(&self) -> u64 {
        self.directory_offset + self.directory_len
    }

    pub fn is_empty(&self) -> bool {
        false // the end record, at least
    }

    fn part_len(&self, part: Part) -> u64 {
        match part {
            Part::Local(i) => self.placed[i].local_len,
            Part::Descriptor(i) => self.placed[i].descriptor_len,
            Part::Directory => self.directory_len,
        }
    }

    /// The segments that make bytes `span` of the archive, in order.
    pub fn segments(&self, span: Span) -> Vec<Segment> {
        let (start, end) = (span.start, span.start.saturating_add(span.len).min(self.len()));
        let mut out = Vec::new();
        let push_part = |out: &mut Vec<Segment>, part: Part, at: u64| {
            let len = self.part_len(part);
            let (s, e) = (start.max(at), end.min(at + len));
            if s < e {
                out.push(Segment::Part { part, skip: s - at, take: e - s });
            }
        };
        for (i, (e, p)) in self.entries.iter().zip(&self.placed).enumerate() {
            if p.offset >= end {
                break;
            }
            push_part(&mut out, Part::Local(i), p.offset);
            let data_at = p.offset + p.local_len;
            let (s, t) = (start.max(data_at), end.min(data_at + e.size));
            if s < t {
                out.push(Segment::Data { entry: i, offset: s - data_at, len: t - s });
            }
            push_part(&mut out, Part::Descriptor(i), data_at + e.size);
        }
        push_part(&mut out, Part::Directory, self.directory_offset);
        out
    }

    /// The entries whose CRC-32 bytes `span` holds (in a descriptor or the directory).
    pub fn crcs_needed(&self, span: Span) -> Vec<usize> {
        let mut need = Vec::new();
        for seg in self.segments(span) {
            match seg {
                Segment::Part { part: Part::Descriptor(i), .. } => need.push(i),
                Segment::Part { part: Part::Directory, .. } => return (0..self.entries.len()).collect(),
                _ => {}
            }
        }
        need
    }

    /// A part's bytes (`crcs[i]`: entry `i`'s CRC-32, which descriptors and the directory
    /// need; `0` where unknown, for parts that do not hold it).
    pub fn render(&self, part: Part, crcs: &[u32]) -> Vec<u8> {
        let crc = |i: usize| crcs.get(i).copied().unwrap_or(0);
        let mut b = Vec::with_capacity(self.part_len(part) as usize);
        match part {
            Part::Local(i) => self.local(&mut b, i),
            Part::Descriptor(i) => {
                let (e, p) = (&self.entries[i], &self.placed[i]);
                put32(&mut b, DESCRIPTOR_SIG);
                put32(&mut b, crc(i));
                if p.zip64 {
                    put64(&mut b, e.size);
                    put64(&mut b, e.size);
                } else {
                    put32(&mut b, e.size as u32);
                    put32(&mut b, e.size as u32);
                }
            }
            Part::Directory => self.directory(&mut b, crcs),
        }
        debug_assert_eq!(b.len() as u64, self.part_len(part), "{part:?}");
        b
    }

    fn local(&self, b: &mut Vec<u8>, i: usize) {
        let (e, p) = (&self.entries[i], &self.placed[i]);
        let (time, date) = dos_time(e.modified);
        put32(b, LOCAL_SIG);
        put16(b, if p.zip64 { 45 } else { 20 });
        put16(b, FLAGS);
        put16(b, 0); // stored
        put16(b, time);
        put16(b, date);
        put32(b, 0); // CRC-32: in the descriptor
        let unknown = if p.zip64 { u32::MAX } else { 0 };
        put32(b, unknown);
        put32(b, unknown);
        put16(b, e.name.len() as u16);
        put16(b, if p.zip64 { 20 } else { 0 });
        b.extend_from_slice(e.name.as_bytes());
        if p.zip64 {
            put16(b, 0x0001);
            put16(b, 16);
            put64(b, 0);
            put64(b, 0);
        }
    }

    fn directory(&self, b: &mut Vec<u8>, crcs: &[u32]) {
        let limits = self.limits;
        for (i, (e, p)) in self.entries.iter().zip(&self.placed).enumerate() {
            let (time, date) = dos_time(e.modified);
            let big_size = e.size >= limits.max_u32;
            let big_offset = p.offset >= limits.max_u32;
            let extra = p.central_extra;
            put32(b, CENTRAL_SIG);
            put16(b, MADE_BY);
            put16(b, if p.zip64 { 45 } else { 20 });
            put16(b, FLAGS);
            put16(b, 0);
            put16(b, time);
            put16(b, date);
            put32(b, crcs.get(i).copied().unwrap_or(0));
            let size = if big_size { u32::MAX } else { e.size as u32 };
            put32(b, size);
            put32(b, size);
            put16(b, e.name.len() as u16);
            put16(b, extra as u16);
            put16(b, 0); // comment
            put16(b, 0); // disk
            put16(b, 0); // internal attributes
            put32(b, UNIX_FILE);
            put32(b, if big_offset { u32::MAX } else { p.offset as u32 });
            b.extend_from_slice(e.name.as_bytes());
            if extra > 0 {
                put16(b, 0x0001);
                put16(b, extra as u16 - 4);
                if big_size {
                    put64(b, e.size);
                    put64(b, e.size);
                }
                if big_offset {
                    put64(b, p.offset);
                }
            }
        }
        let n = self.entries.len() as u64;
        let central_len = self.central_len;
        if self.end64 {
            let end64_at = self.directory_offset + central_len;
            put32(b, END64_SIG);
            put64(b, 44);
            put16(b, MADE_BY);
            put16(b, 45);
            put32(b, 0);
            put32(b, 0);
            put64(b, n);
            put64(b, n);
            put64(b, central_len);
            put64(b, self.directory_offset);
            put32(b, LOCATOR64_SIG);
            put32(b, 0);
            put64(b, end64_at);
            put32(b, 1);
        }
        let clamp16 = |v: u64| if v >= limits.max_u16 { 0xFFFF } else { v as u16 };
        let clamp32 = |v: u64| if v >= limits.max_u32 { u32::MAX } else { v as u32 };
        put32(b, END_SIG);
        put16(b, 0);
        put16(b, 0);
        put16(b, clamp16(n));
        put16(b, clamp16(n));
        put32(b, clamp32(central_len));
        put32(b, clamp32(self.directory_offset));
        put16(b, 0);
    }
}

fn put16(b: &mut Vec<u8>, v: u16) {
    b.extend_from_slice(&v.to_le_bytes());
}

fn put32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}

fn put64(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_le_bytes());
}

/// MS-DOS time and date (UTC; 1980 at the earliest, 2107 at the latest).
fn dos_time(ms: u64) -> (u16, u16) {
    let secs = (ms / 1000) as i64;
    let t = time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    if t.year() < 1980 {
        return (0, (1 << 5) | 1);
    }
    let year = (t.year().min(2107) - 1980) as u16;
    let date = (year << 9) | ((t.month() as u16) << 5) | t.day() as u16;
    let time = ((t.hour() as u16) << 11) | ((t.minute() as u16) << 5) | (t.second() as u16 / 2);
    (time, date)
}

/// Longest name in bytes (UTF-8), extension kept.
pub const MAX_NAME: usize = 240;

/// Names safe to extract anywhere, one per file, in order: no directories (`/` and `\`
/// become `_`, so neither `..` nor an absolute path can climb out), no control, bidi or
/// other invisible formatting characters, not empty, `.` or `..`, at most [`MAX_NAME`]
/// bytes, and no two alike regardless of case (`a.txt`, `a (1).txt`, ...).
pub fn safe_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut taken = std::collections::HashSet::new();
    let mut out = Vec::new();
    for name in names {
        let base = clean(name);
        let (stem, ext) = split_ext(&base);
        let mut candidate = base.clone();
        let mut n = 1;
        while !taken.insert(candidate.to_lowercase()) {
            candidate = format!("{stem} ({n}){ext}");
            n += 1;
        }
        out.push(candidate);
    }
    out
}

fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{061C}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

fn clean(name: &str) -> String {
    let mapped: String =
        name.chars().filter(|c| !invisible(*c)).map(|c| if c == '/' || c == '\\' { '_' } else { c }).collect();
    let trimmed = mapped.trim().trim_end_matches('.').to_string();
    let trimmed = if trimmed.is_empty() || trimmed.chars().all(|c| c == '.') { "file".to_string() } else { trimmed };
    if trimmed.len() <= MAX_NAME {
        return trimmed;
    }
    let (stem, ext) = split_ext(&trimmed);
    let ext = if ext.len() <= 16 { ext } else { "" };
    let mut cut = MAX_NAME - ext.len();
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{ext}", &stem[..cut])
}

/// `("report", ".pdf")`; a leading dot is not an extension.
fn split_ext(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(at) if at > 0 => (&name[..at], &name[at..]),
        _ => (name, ""),
    }
}

/// Python's zipfile reads `zip` back (every name and byte, CRCs checked) and `unzip -t` tests
/// it, when they are on the machine (for tests).
#[cfg(test)]
pub(crate) fn check_with_tools(zip: &[u8], files: &[(&str, Vec<u8>)], tag: &str) {
    let dir = std::env::temp_dir().join(format!("edgeshare-zip-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("a.zip");
    std::fs::write(&path, zip).unwrap();
    let expect: Vec<(String, String)> = files
        .iter()
        .map(|(n, b)| {
            use sha2::Digest;
            (n.to_string(), hex::encode(sha2::Sha256::digest(b)))
        })
        .collect();
    let script = "import zipfile,hashlib,json,sys\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\n\
             print(json.dumps([[i.filename, hashlib.sha256(z.read(i)).hexdigest()] for i in z.infolist()]))";
    if let Ok(out) = std::process::Command::new("python3").arg("-c").arg(script).arg(&path).output() {
        assert!(out.status.success(), "python zipfile: {}", String::from_utf8_lossy(&out.stderr));
        let got: Vec<(String, String)> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(got, expect);
    }
    if let Ok(out) = std::process::Command::new("unzip").arg("-tq").arg(&path).output() {
        assert!(
            out.status.success(),
            "unzip -t: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, size: u64) -> Entry {
        Entry { name: name.into(), size, modified: 1_714_730_400_000 }
    }

    /// The whole archive of `files` (name, bytes), from its segments.
    fn build(files: &[(&str, Vec<u8>)], limits: Limits, span: Option<Span>) -> Vec<u8> {
        let archive = Archive::with_limits(files.iter().map(|(n, b)| entry(n, b.len() as u64)).collect(), limits);
        let crcs: Vec<u32> = files.iter().map(|(_, b)| crc32fast::hash(b)).collect();
        let span = span.unwrap_or(Span { start: 0, len: archive.len() });
        let mut out = Vec::new();
        for seg in archive.segments(span) {
            match seg {
                Segment::Part { part, skip, take } => {
                    let bytes = archive.render(part, &crcs);
                    out.extend_from_slice(&bytes[skip as usize..(skip + take) as usize]);
                }
                Segment::Data { entry, offset, len } => {
                    out.extend_from_slice(&files[entry].1[offset as usize..(offset + len) as usize])
                }
            }
        }
        out
    }

    fn files() -> Vec<(&'static str, Vec<u8>)> {
        vec![
            ("hello.txt", b"hello world\n".to_vec()),
            ("empty", Vec::new()),
            ("über ünïcode.bin", (0..70_000u32).map(|i| (i * 7 % 251) as u8).collect()),
        ]
    }

    #[test]
    fn an_archive_is_read_back_by_zipfile_and_unzip() {
        let files = files();
        let zip = build(&files, CLASSIC, None);
        let archive = Archive::new(files.iter().map(|(n, b)| entry(n, b.len() as u64)).collect());
        assert_eq!(zip.len() as u64, archive.len(), "the length is known in advance");
        assert_eq!(&zip[..4], b"PK\x03\x04");
        check_with_tools(&zip, &files, "classic");
    }

    #[test]
    fn zip64_records_are_written_past_the_classic_limits() {
        let files = files();
        // every size and offset "too big", and too many entries for the classic end record
        let limits = Limits { max_u32: 10, max_u16: 2 };
        let zip = build(&files, limits, None);
        assert!(zip.windows(4).any(|w| w == END64_SIG.to_le_bytes()), "a ZIP64 end record");
        check_with_tools(&zip, &files, "zip64");
        // offsets only past the limit: the first entry small, the rest ZIP64 for their offset
        let limits = Limits { max_u32: 5_000, max_u16: 0xFFFF };
        let files = vec![("a", vec![1u8; 4_990]), ("b", vec![2u8; 3]), ("c", Vec::new())];
        check_with_tools(&build(&files, limits, None), &files, "offsets");
    }

    #[test]
    fn any_range_is_the_same_bytes_as_the_whole() {
        for limits in [CLASSIC, Limits { max_u32: 100, max_u16: 2 }] {
            let files = files();
            let whole = build(&files, limits, None);
            let n = whole.len() as u64;
            for (start, len) in [(0, 1), (0, n), (5, 40), (29, 100), (n - 30, 30), (n - 1, 1), (100, 69_990), (45, 5)] {
                let part = build(&files, limits, Some(Span { start, len }));
                assert_eq!(part, whole[start as usize..(start + len) as usize], "{start}+{len}");
            }
        }
    }

    #[test]
    fn crcs_are_needed_only_where_a_range_holds_them() {
        let files = files();
        let archive = Archive::new(files.iter().map(|(n, b)| entry(n, b.len() as u64)).collect());
        // the first local header and the start of its data: no CRC yet
        assert!(archive.crcs_needed(Span { start: 0, len: 40 }).is_empty());
        // past the first entry's data: its descriptor
        assert_eq!(archive.crcs_needed(Span { start: 0, len: 30 + 9 + 12 + 1 }), vec![0]);
        // the end: every CRC (the central directory)
        assert_eq!(archive.crcs_needed(Span { start: archive.len() - 1, len: 1 }), vec![0, 1, 2]);
    }

    #[test]
    fn names_are_made_safe_and_unique() {
        let names = safe_names([
            "../../etc/passwd",
            "/abs/path.txt",
            "C:\\win\\file.txt",
            "..",
            "",
            "a.txt",
            "A.TXT",
            "a.txt",
            "evil\u{202E}gpj.exe",
            "tab\there\u{0}.txt",
            "dots...",
            ".hidden",
        ]);
        assert_eq!(
            names,
            [
                ".._.._etc_passwd",
                "_abs_path.txt",
                "C:_win_file.txt",
                "file",
                "file (1)",
                "a.txt",
                "A (1).TXT",
                "a (2).txt",
                "evilgpj.exe",
                "tabhere.txt",
                "dots",
                ".hidden",
            ]
        );
        for n in &names {
            assert!(!n.contains('/') && !n.contains('\\') && n != ".." && !n.is_empty());
        }
        let long = "é".repeat(300) + ".pdf";
        let cut = &safe_names([long.as_str()])[0];
        assert!(cut.len() <= MAX_NAME && cut.ends_with(".pdf"), "{cut}");
    }

    #[test]
    fn dos_times_are_utc_and_clamped() {
        // 2024-05-03 10:00:00 UTC
        assert_eq!(dos_time(1_714_730_400_000), ((10 << 11), ((44 << 9) | (5 << 5) | 3)));
        assert_eq!(dos_time(0), (0, (1 << 5) | 1));
    }
}
