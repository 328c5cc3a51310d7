//! Writing results: primes one per line or as Python prints them, to stdout or to a file that only
//! appears, complete, when the run succeeds.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tempfile::NamedTempFile;

/// Temporary files being written, so that a signal can remove them before the process ends.
static PARTIAL: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn partial_files() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    PARTIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes every temporary output file still being written (for signal handlers; output renamed
/// onto its target is complete and stays).
pub fn remove_partial_files() {
    for path in partial_files().drain(..) {
        let _ = std::fs::remove_file(path);
    }
}

/// How primes are listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One prime per line, in decimal.
    Lines,
    /// Exactly `print(textwrap.fill(str(primes), 80))` in Python.
    Python,
    /// A NumPy `.npy` file (format 1.0, dtype `<u8`, shape `(n,)`); to a file only, since the
    /// header holds the count, written last.
    Npy,
    /// Raw little-endian `u64`, one per prime; to a file only, like [`Format::Npy`].
    Binary,
}

impl Format {
    /// The name `--format` takes.
    pub fn name(self) -> &'static str {
        match self {
            Format::Lines => "lines",
            Format::Python => "python",
            Format::Npy => "npy",
            Format::Binary => "binary",
        }
    }

    /// Whether the output must be a file (`-o`): the formats whose header is written last.
    pub fn needs_file(self) -> bool {
        matches!(self, Format::Npy | Format::Binary)
    }
}

/// Bytes of the `.npy` header [`npy_header`] writes, for any count: a multiple of 64, as NumPy's
/// own writer aligns it.
pub const NPY_HEADER_LEN: usize = 128;

/// The NumPy format 1.0 header of a one-dimensional array of `count` little-endian `u64`
/// ([`NPY_HEADER_LEN`] bytes: magic, version, header length, the dictionary padded with spaces and
/// ended by a newline).
pub fn npy_header(count: u64) -> [u8; NPY_HEADER_LEN] {
    let mut header = [b' '; NPY_HEADER_LEN];
    header[..6].copy_from_slice(b"\x93NUMPY");
    header[6..8].copy_from_slice(&[1, 0]);
    header[8..10].copy_from_slice(&((NPY_HEADER_LEN - 10) as u16).to_le_bytes());
    let dict = format!("{{'descr': '<u8', 'fortran_order': False, 'shape': ({count},), }}");
    header[10..10 + dict.len()].copy_from_slice(dict.as_bytes());
    header[NPY_HEADER_LEN - 1] = b'\n';
    header
}

/// Where output goes: stdout, or a temporary file beside the target that is renamed onto it only by
/// [`Sink::commit`]; dropped uncommitted, the temporary file is removed.
pub enum Sink {
    /// Standard output, written on a [`Background`] thread once [`Sink::write_buffer`] is used.
    Stdout {
        /// Stdout itself, until the background thread takes it.
        out: Option<io::Stdout>,
        /// The thread writing the buffers.
        background: Option<Background>,
    },
    /// An existing file that is not a regular file (`/dev/null`, a FIFO): written in place, since
    /// renaming onto it would replace the device or pipe.
    Special(io::BufWriter<File>),
    /// A file being written under a temporary name: created with `O_EXCL` under a random name
    /// (`tempfile`), so no other file is ever opened or replaced by mistake.
    File {
        /// The open temporary file; `None` once committed.
        file: Option<io::BufWriter<NamedTempFile>>,
        /// The thread writing the buffers of [`Sink::write_buffer`] (and everything after the
        /// first), started by the first.
        background: Option<Background>,
        /// Its name, as registered for [`remove_partial_files`].
        temp: PathBuf,
        /// The name it gets when complete.
        target: PathBuf,
        /// Starts the disk writing early (see [`Syncer`]).
        syncer: Option<Syncer>,
    },
}

/// Bytes written to a file between two early syncs.
const SYNC_EVERY: u64 = 64 << 20;

/// A thread that syncs a file being written every 64 MiB, so that the disk writes
/// while erato still formats, and the sync at [`Sink::commit`] finds little left to do. Without it
/// the whole file sits in the page cache until the commit, and a listing to `-o` ends by waiting
/// for all of it (half a gigabyte for the primes to 10^9).
pub struct Syncer {
    wake: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<io::Result<()>>>,
    unsynced: u64,
}

impl Syncer {
    fn start(file: File) -> Self {
        let (wake, woken) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("erato-sync".into())
            .spawn(move || -> io::Result<()> {
                for () in woken {
                    file.sync_data()?;
                }
                Ok(())
            })
            .ok();
        Self {
            wake: thread.as_ref().map(|_| wake),
            thread,
            unsynced: 0,
        }
    }

    /// Counts `bytes` written, waking the thread every `SYNC_EVERY` bytes (not while it is busy).
    fn wrote(&mut self, bytes: usize) {
        self.unsynced += bytes as u64;
        if self.unsynced >= SYNC_EVERY {
            if let Some(wake) = &self.wake {
                let _ = wake.try_send(());
            }
            self.unsynced = 0;
        }
    }

    /// Stops the thread, returning the error of a sync that failed.
    fn finish(&mut self) -> io::Result<()> {
        self.wake = None;
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the sync thread panicked")),
            None => Ok(()),
        }
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// A thread that writes the buffers handed to it, in order, so that the threads formatting the
/// next batch do not wait for write(2): copying a listing into the page cache or a pipe costs
/// about as much CPU as formatting it. Written buffers come back for reuse.
pub struct Background {
    /// Buffers to write: a rendezvous channel, so that one buffer is written while the next is
    /// filled and no more are held. Dropping it ends the thread.
    full: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    /// Written buffers.
    empty: std::sync::mpsc::Receiver<Vec<u8>>,
    thread: Option<std::thread::JoinHandle<io::Result<()>>>,
}

impl Background {
    /// Starts a thread that writes each buffer to `out`, and flushes it at the end.
    fn start(mut out: impl Write + Send + 'static) -> io::Result<Self> {
        let (full, queue) = std::sync::mpsc::sync_channel::<Vec<u8>>(0);
        let (written, empty) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("erato-write".into())
            .spawn(move || -> io::Result<()> {
                for buffer in queue {
                    out.write_all(&buffer)?;
                    let _ = written.send(buffer);
                }
                out.flush()
            })?;
        Ok(Self {
            full: Some(full),
            empty,
            thread: Some(thread),
        })
    }

    /// Hands `buffer` to the thread (waiting while it writes the one before) and returns a
    /// written buffer, or an empty one when none has come back yet.
    fn write(&mut self, buffer: Vec<u8>) -> io::Result<Vec<u8>> {
        let sent = match &self.full {
            Some(full) => full.send(buffer).is_ok(),
            None => false,
        };
        if !sent {
            // The thread ended on an error (or was finished): report it.
            self.finish()?;
            return Err(io::Error::other("output written after it was committed"));
        }
        Ok(self.empty.try_recv().unwrap_or_default())
    }

    /// Waits until everything handed over is written; returns the first error.
    fn finish(&mut self) -> io::Result<()> {
        self.full = None;
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the writing thread panicked")),
            None => Ok(()),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// The temporary file as the [`Background`] thread writes it: through the page cache, with the
/// early syncs of its [`Syncer`] so that the disk writes while erato still formats.
///
/// Direct writes (`O_DIRECT` from aligned staging buffers, two in flight) were tried and measured
/// against this: the primes to 10^9 (502 MB) to a file on ext4, 2 threads, Zen 5, quiet, 7
/// interleaved runs: 0.27 s median both ways (0.24-0.28 buffered, 0.26-0.31 direct), so the
/// 300 lines and their fallback path for filesystems that refuse them were not kept. Under load,
/// the copy into fresh page-cache pages showed system-time spikes that direct writes avoid.
struct BackgroundFile {
    file: File,
    /// Early syncs.
    syncer: Option<Syncer>,
}

impl BackgroundFile {
    fn new(file: File, syncer: Option<Syncer>) -> Self {
        Self { file, syncer }
    }
}

impl Write for BackgroundFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.file.write(buf)?;
        if let Some(syncer) = self.syncer.as_mut() {
            syncer.wrote(written);
        }
        Ok(written)
    }

    /// Ends the early syncs (the commit syncs the whole file).
    fn flush(&mut self) -> io::Result<()> {
        self.syncer
            .take()
            .map_or(Ok(()), |mut syncer| syncer.finish())
    }
}

/// The directory a path names its file in (`.` for a bare file name).
fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

impl Sink {
    /// Output to stdout.
    pub fn stdout() -> Self {
        Sink::Stdout {
            out: Some(io::stdout()),
            background: None,
        }
    }

    /// Output to `target`, written first to a new temporary file `.NAME.XXXXXX.erato-partial` in the
    /// same directory; a target that exists and is not a regular file is written directly.
    pub fn file(target: &Path) -> io::Result<Self> {
        if let Ok(meta) = std::fs::metadata(target) {
            if !meta.is_file() {
                if meta.is_dir() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("{} is a directory", target.display()),
                    ));
                }
                let file = std::fs::OpenOptions::new().write(true).open(target)?;
                return Ok(Sink::Special(io::BufWriter::with_capacity(1 << 20, file)));
            }
        }
        let name = target
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
        let mut prefix = std::ffi::OsString::from(".");
        prefix.push(name);
        prefix.push(".");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".erato-partial");
        // tempfile's default is 0600; output is an ordinary file, readable as the umask allows.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let file = builder.tempfile_in(directory_of(target))?;
        let temp = file.path().to_owned();
        partial_files().push(temp.clone());
        let syncer = file.as_file().try_clone().ok().map(Syncer::start);
        Ok(Sink::File {
            file: Some(io::BufWriter::with_capacity(1 << 20, file)),
            background: None,
            temp,
            target: target.to_owned(),
            syncer,
        })
    }

    /// Flushes everything and, for a file, syncs it, renames it onto its target and syncs the
    /// directory, so that once this returns the complete file survives a crash of the machine.
    pub fn commit(&mut self) -> io::Result<()> {
        match self {
            Sink::Stdout { out, background } => {
                if let Some(background) = background.as_mut() {
                    background.finish()?;
                }
                out.as_mut().map_or(Ok(()), Write::flush)
            }
            Sink::Special(file) => file.flush(),
            Sink::File {
                file,
                background,
                temp,
                target,
                syncer,
            } => {
                if let Some(background) = background.as_mut() {
                    background.finish()?;
                }
                let Some(writer) = file.take() else {
                    return Ok(());
                };
                if let Some(syncer) = syncer.as_mut() {
                    syncer.finish()?;
                }
                let named = writer
                    .into_inner()
                    .map_err(io::IntoInnerError::into_error)?;
                named.as_file().sync_all()?;
                named.persist(&*target).map_err(|e| e.error)?;
                partial_files().retain(|p| p != temp);
                File::open(directory_of(target))?.sync_all()
            }
        }
    }

    /// Writes `bytes` at the start of the output, over what was written there before (the `.npy`
    /// header, once the count is known); the output goes on where it was. Fails on stdout and on
    /// files that cannot seek (a FIFO).
    pub fn overwrite_start(&mut self, bytes: &[u8]) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        let cannot = || {
            io::Error::new(
                io::ErrorKind::Unsupported,
                "the output cannot be rewritten at its start (the header holds the count): write to a regular file",
            )
        };
        match self {
            Sink::Stdout { .. } => Err(cannot()),
            Sink::Special(file) => {
                file.flush()?;
                file.get_ref().write_all_at(bytes, 0).map_err(|e| {
                    if e.kind() == io::ErrorKind::NotSeekable {
                        cannot()
                    } else {
                        e
                    }
                })
            }
            Sink::File {
                file, background, ..
            } => {
                if let Some(background) = background.as_mut() {
                    background.finish()?;
                }
                let writer = file
                    .as_mut()
                    .ok_or_else(|| io::Error::other("output written after it was committed"))?;
                writer.flush()?;
                writer.get_ref().as_file().write_all_at(bytes, 0)
            }
        }
    }

    /// Writes `buffer` (on a thread of its own for stdout and files, see [`Background`]) and
    /// returns a buffer to fill next: one written before, or an empty one. Everything written
    /// afterwards follows it in order.
    pub fn write_buffer(&mut self, buffer: Vec<u8>) -> io::Result<Vec<u8>> {
        match self {
            Sink::Stdout { out, background } => {
                if background.is_none() {
                    let out = out
                        .take()
                        .expect("stdout until the background thread takes it");
                    *background = Some(Background::start(out)?);
                }
                background.as_mut().expect("started").write(buffer)
            }
            Sink::Special(file) => file.write_all(&buffer).map(|()| buffer),
            Sink::File {
                file,
                background,
                syncer,
                ..
            } => {
                if background.is_none() {
                    let writer = file
                        .as_mut()
                        .ok_or_else(|| io::Error::other("output written after it was committed"))?;
                    writer.flush()?;
                    let file = writer.get_ref().as_file().try_clone()?;
                    *background =
                        Some(Background::start(BackgroundFile::new(file, syncer.take()))?);
                }
                background.as_mut().expect("started").write(buffer)
            }
        }
    }

    /// The thread writing for this sink, once [`Sink::write_buffer`] has started it.
    fn background(&mut self) -> Option<&mut Background> {
        match self {
            Sink::Stdout { background, .. } | Sink::File { background, .. } => background.as_mut(),
            Sink::Special(_) => None,
        }
    }

    fn writer(&mut self) -> io::Result<&mut dyn Write> {
        match self {
            Sink::Stdout { out, .. } => out
                .as_mut()
                .map(|out| out as &mut dyn Write)
                .ok_or_else(|| io::Error::other("stdout is written by its thread")),
            Sink::Special(file) => Ok(file),
            Sink::File { file, .. } => file
                .as_mut()
                .map(|f| f as &mut dyn Write)
                .ok_or_else(|| io::Error::other("output written after it was committed")),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf).map(|()| buf.len())
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if let Some(background) = self.background() {
            // After the first buffer, everything goes through the thread, in order.
            return background.write(buf.to_vec()).map(drop);
        }
        match self {
            Sink::Stdout { out: Some(out), .. } => out.lock().write_all(buf),
            Sink::File {
                file: Some(file),
                syncer,
                ..
            } => {
                file.write_all(buf)?;
                if let Some(syncer) = syncer.as_mut() {
                    syncer.wrote(buf.len());
                }
                Ok(())
            }
            _ => self.writer()?.write_all(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        if self.background().is_some() {
            return Ok(()); // the thread writes without buffering; commit waits for it
        }
        self.writer()?.flush()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Sink::File {
            file,
            background,
            temp,
            ..
        } = self
        {
            // Dropping the NamedTempFile removes the file; then it is no longer partial output.
            drop(background.take());
            drop(file.take());
            partial_files().retain(|p| p != temp);
        }
    }
}

/// Bytes gathered before a write.
const FLUSH_AT: usize = 1 << 20;

/// Formats primes in order into a sink, in large writes.
pub struct PrimeWriter<W: Write> {
    out: W,
    format: Format,
    buf: Vec<u8>,
    /// Python format: the prime waiting for its separator (`,` or the closing `]`).
    pending: Option<u64>,
    /// Python format: characters on the current line; 0 before the first token.
    line: usize,
    started: bool,
}

impl<W: Write> PrimeWriter<W> {
    /// A writer in `format` to `out`.
    pub fn new(out: W, format: Format) -> Self {
        Self {
            out,
            format,
            buf: Vec::with_capacity(FLUSH_AT + 4096),
            pending: None,
            line: 0,
            started: false,
        }
    }

    #[inline]
    fn python_token(&mut self, prime: u64, last: bool) {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(prime);
        let first = !self.started;
        self.started = true;
        let len = digits.len() + 1 + usize::from(first); // "[" before the first, "," or "]" after
        if self.line == 0 {
            self.line = len;
        } else if self.line + 1 + len <= 80 {
            self.buf.push(b' ');
            self.line += 1 + len;
        } else {
            self.buf.push(b'\n');
            self.line = len;
        }
        if first {
            self.buf.push(b'[');
        }
        self.buf.extend_from_slice(digits.as_bytes());
        self.buf.push(if last { b']' } else { b',' });
    }

    /// Adds one prime (larger than every prime before it).
    #[inline]
    pub fn push(&mut self, prime: u64) -> io::Result<()> {
        match self.format {
            Format::Lines => {
                let mut digits = itoa::Buffer::new();
                self.buf.extend_from_slice(digits.format(prime).as_bytes());
                self.buf.push(b'\n');
            }
            Format::Python => {
                if let Some(previous) = self.pending.replace(prime) {
                    self.python_token(previous, false);
                }
            }
            Format::Npy | Format::Binary => self.buf.extend_from_slice(&prime.to_le_bytes()),
        }
        if self.buf.len() >= FLUSH_AT {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Adds the primes of odd-only bitmap words whose bit 0 stands for `first_odd`.
    pub fn push_words(&mut self, first_odd: u64, words: &[u64]) -> io::Result<()> {
        for (j, &word) in words.iter().enumerate() {
            let mut w = word;
            let base = first_odd + 128 * j as u64;
            while w != 0 {
                self.push(base + 2 * u64::from(w.trailing_zeros()))?;
                w &= w - 1;
            }
        }
        Ok(())
    }

    /// Writes what is left (for Python, the closing `]` and newline) and returns the sink.
    pub fn finish(mut self) -> io::Result<W> {
        if self.format == Format::Python {
            match self.pending.take() {
                Some(last) => self.python_token(last, true),
                None => self.buf.extend_from_slice(b"[]"),
            }
            self.buf.push(b'\n');
        }
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python(primes: &[u64]) -> String {
        let mut w = PrimeWriter::new(Vec::new(), Format::Python);
        for &p in primes {
            w.push(p).unwrap();
        }
        String::from_utf8(w.finish().unwrap()).unwrap()
    }

    #[test]
    fn file_sink_commits_whole_or_leaves_nothing() {
        let scratch = tempfile::tempdir().unwrap(); // removed when dropped
        let dir = scratch.path();
        let target = dir.join("out.txt");
        let names = || -> Vec<String> {
            let mut v: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        // Two sinks for one target at once get different temporary files (O_EXCL, random names).
        let mut a = Sink::file(&target).unwrap();
        let mut b = Sink::file(&target).unwrap();
        assert_eq!(names().len(), 2, "{:?}", names());
        assert!(names()
            .iter()
            .all(|n| n.starts_with(".out.txt.") && n.ends_with(".erato-partial")));
        a.write_all(b"a").unwrap();
        b.write_all(b"b").unwrap();
        drop(b); // uncommitted: removed
        assert_eq!(names().len(), 1);
        a.commit().unwrap();
        assert_eq!(names(), ["out.txt"]);
        assert_eq!(std::fs::read(&target).unwrap(), b"a");
        assert!(a.write_all(b"late").is_err(), "no writes after commit");
        // Ordinary permissions, as File::create gives under this umask, not tempfile's 0600.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let plain = dir.join("plain");
            File::create(&plain).unwrap();
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode();
            assert_eq!(mode(&target), mode(&plain));
            std::fs::remove_file(plain).unwrap();
        }
        // A bare file name goes in the current directory, whose fsync must work too.
        let mut c = Sink::file(Path::new("erato-sink-test-bare-name.tmp")).unwrap();
        c.write_all(b"c").unwrap();
        c.commit().unwrap();
        std::fs::remove_file("erato-sink-test-bare-name.tmp").unwrap();
    }

    #[test]
    fn buffers_written_by_the_thread_arrive_whole_and_in_order() {
        // An odd-sized head, buffers of odd sizes and one of several megabytes (past the early
        // syncs' interval only in sum), small writes between them, the start rewritten: in the
        // temporary directory and, where there is one, in /dev/shm (tmpfs).
        let mut dirs = vec![std::env::temp_dir()];
        if Path::new("/dev/shm").is_dir() {
            dirs.push(PathBuf::from("/dev/shm"));
        }
        for dir in dirs {
            write_buffers_in(&dir.join(format!("erato-buffers-{}", std::process::id())));
        }
    }

    fn write_buffers_in(dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        let target = dir.join("out.bin");
        let mut want = Vec::new();
        let mut sink = Sink::file(&target).unwrap();
        let mut put = |sink: &mut Sink, bytes: Vec<u8>, buffer: bool| {
            want.extend_from_slice(&bytes);
            if buffer {
                sink.write_buffer(bytes).unwrap();
            } else {
                sink.write_all(&bytes).unwrap();
            }
        };
        let noise = |n: usize, seed: u64| -> Vec<u8> {
            (0..n as u64)
                .map(|i| ((i ^ seed).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8)
                .collect()
        };
        put(&mut sink, noise(131, 1), false);
        for (k, len) in [1, 4095, 4096, 4097, (12 << 20) + 17, 0, 12_345]
            .into_iter()
            .enumerate()
        {
            put(&mut sink, noise(len, k as u64), true);
            put(&mut sink, noise(k, 100 + k as u64), false);
        }
        sink.overwrite_start(b"HEAD").unwrap();
        want[..4].copy_from_slice(b"HEAD");
        sink.commit().unwrap();
        assert!(std::fs::read(&target).unwrap() == want, "{}", dir.display());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn python_small_cases() {
        assert_eq!(python(&[]), "[]\n");
        assert_eq!(python(&[2]), "[2]\n");
        assert_eq!(python(&[2, 3, 5, 7]), "[2, 3, 5, 7]\n");
        // Lines never pass 80 characters and break between tokens.
        let primes = sieve_core::primes(0, 1000);
        let text = python(&primes);
        assert!(text.lines().all(|l| l.len() <= 80));
        assert_eq!(
            text.replace('\n', " "),
            format!("{primes:?}\n").replace('\n', " ")
        );
    }
}
