//! A fixed-capacity text buffer that `const fn`s can write into, so that one piece of code
//! words each error both for `Display` at run time and for a `const` panic when a generic
//! model is instantiated with values that do not fit.

use crate::shape::{Shape, UNKNOWN};

const CAPACITY: usize = 480;

/// A message under construction. Text beyond the capacity is cut at a character boundary.
pub struct Message {
    buf: [u8; CAPACITY],
    len: usize,
}

impl Message {
    /// An empty message.
    pub const fn new() -> Message {
        Message {
            buf: [0; CAPACITY],
            len: 0,
        }
    }

    /// Appends text.
    pub const fn str(&mut self, s: &str) -> &mut Message {
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() && self.len < CAPACITY {
            self.buf[self.len] = bytes[i];
            self.len += 1;
            i += 1;
        }
        self
    }

    /// Appends a number in decimal (`?` for an unknown dimension).
    pub const fn num(&mut self, mut n: usize) -> &mut Message {
        if n == UNKNOWN {
            return self.str("?");
        }
        let mut digits = [0u8; 20];
        let mut k = 0;
        loop {
            digits[k] = b'0' + (n % 10) as u8;
            k += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        while k > 0 && self.len < CAPACITY {
            k -= 1;
            self.buf[self.len] = digits[k];
            self.len += 1;
        }
        self
    }

    /// Appends a shape in Keras's tuple notation.
    pub const fn shape(&mut self, s: &Shape) -> &mut Message {
        self.str("(");
        let mut i = 0;
        while i < s.rank() {
            if i > 0 {
                self.str(", ");
            }
            self.num(s.dim(i));
            i += 1;
        }
        if s.rank() == 1 {
            self.str(",");
        }
        self.str(")")
    }

    /// The text so far.
    pub const fn as_str(&self) -> &str {
        // Cut back to a character boundary in case the capacity split one.
        let mut len = self.len;
        while len > 0 && len < self.len && (self.buf[len] & 0xC0) == 0x80 {
            len -= 1;
        }
        let bytes = self.buf.split_at(len).0;
        match core::str::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => match core::str::from_utf8(bytes.split_at(e.valid_up_to()).0) {
                Ok(s) => s,
                Err(_) => "",
            },
        }
    }
}

impl Default for Message {
    fn default() -> Self {
        Message::new()
    }
}
