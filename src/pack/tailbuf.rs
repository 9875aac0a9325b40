//! A seekable writer that keeps the end of a file in memory.
//!
//! The zip writer writes each entry as several small pieces. Then it seeks back to put the
//! CRC and sizes into the entry's local header, and seeks forward again. On a plain file that
//! is about 14 system calls per entry: for a pack of 1,700 files, 26k writes and seeks that
//! cost more kernel time than the whole sha256 pass. Here the last `capacity` bytes (and the
//! cursor) stay in memory. Writes and seeks inside them are memory operations, and the buffer
//! goes to the file in large pieces. A write before the buffer (an entry larger than the
//! buffer, patched after it was flushed) goes straight to the file at its offset.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

pub struct TailBuf<'a> {
    file: &'a mut File,
    /// The file's bytes from `start` on, not yet written.
    buf: Vec<u8>,
    /// The file offset of `buf[0]`; everything before it is in the file.
    start: u64,
    /// The cursor.
    pos: u64,
    capacity: usize,
}

impl<'a> TailBuf<'a> {
    /// Writes go after what `file` holds (its length at the start).
    pub fn new(file: &'a mut File, capacity: usize) -> std::io::Result<TailBuf<'a>> {
        let start = file.seek(SeekFrom::End(0))?;
        Ok(TailBuf {
            file,
            buf: Vec::with_capacity(capacity),
            start,
            pos: start,
            capacity,
        })
    }

    fn end(&self) -> u64 {
        self.start + self.buf.len() as u64
    }

    /// Writes the buffer to the file; the cursor stays where it is.
    fn spill(&mut self) -> std::io::Result<()> {
        self.file.write_all_at(&self.buf, self.start)?;
        self.start += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// Everything written to the file, which is returned with its cursor at the end.
    pub fn finish(mut self) -> std::io::Result<&'a mut File> {
        self.spill()?;
        self.file.seek(SeekFrom::Start(self.start))?;
        Ok(self.file)
    }
}

impl Write for TailBuf<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.pos > self.end() {
            // After a seek past the end: the gap is zeros, as a file would have it.
            let gap = (self.pos - self.end()) as usize;
            self.buf.resize(self.buf.len() + gap, 0);
        }
        let mut data = data;
        let len = data.len();
        if self.pos < self.start {
            // Before the buffer: straight to the file, up to where the buffer begins.
            let direct = data.len().min((self.start - self.pos) as usize);
            self.file.write_all_at(&data[..direct], self.pos)?;
            self.pos += direct as u64;
            data = &data[direct..];
        }
        if !data.is_empty() {
            let at = (self.pos - self.start) as usize;
            let overlap = data.len().min(self.buf.len() - at);
            self.buf[at..at + overlap].copy_from_slice(&data[..overlap]);
            self.buf.extend_from_slice(&data[overlap..]);
            self.pos += data.len() as u64;
            if self.buf.len() >= self.capacity && self.pos == self.end() {
                self.spill()?;
            }
        }
        Ok(len)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Seek for TailBuf<'_> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let base = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.end().checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = base.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start")
        })?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Read};

    /// The same writes and seeks on a TailBuf (small capacity, so pieces go past it) and on
    /// an in-memory cursor leave the same bytes.
    #[test]
    fn writes_and_seeks_land_as_on_a_plain_file() {
        let ops: Vec<(u64, Vec<u8>)> = vec![
            (0, b"PK header".to_vec()),
            (9, vec![7u8; 50]),
            (2, b"crc!".to_vec()),
            (59, vec![1u8; 3]),
            (70, b"after a gap".to_vec()),
            (5, vec![9u8; 70]),
        ];
        for capacity in [1, 4, 16, 64, 4096] {
            let mut file = tempfile::tempfile().unwrap();
            file.write_all(b"#!/bin/sh prefix\n").unwrap();
            let prefix = 17u64;
            let mut reference = Cursor::new(b"#!/bin/sh prefix\n".to_vec());
            let mut tail = TailBuf::new(&mut file, capacity).unwrap();
            for (at, data) in &ops {
                tail.seek(SeekFrom::Start(prefix + at)).unwrap();
                tail.write_all(data).unwrap();
                reference.seek(SeekFrom::Start(prefix + at)).unwrap();
                reference.write_all(data).unwrap();
                assert_eq!(tail.stream_position().unwrap(), reference.position());
            }
            assert_eq!(
                tail.seek(SeekFrom::End(0)).unwrap(),
                reference.get_ref().len() as u64
            );
            let file = tail.finish().unwrap();
            let mut got = Vec::new();
            file.seek(SeekFrom::Start(0)).unwrap();
            file.read_to_end(&mut got).unwrap();
            assert_eq!(got, reference.into_inner(), "capacity {capacity}");
        }
    }

    #[test]
    fn a_seek_before_the_start_is_an_error() {
        let mut file = tempfile::tempfile().unwrap();
        let mut tail = TailBuf::new(&mut file, 16).unwrap();
        assert!(tail.seek(SeekFrom::Current(-1)).is_err());
    }
}
