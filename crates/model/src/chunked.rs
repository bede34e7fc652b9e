//! A list that grows a chunk at a time: it never holds more than one chunk
//! unused, where a vector that doubles can hold as much unused as used, and
//! it gives its memory back a chunk at a time as it is consumed.

/// Items a chunk: 2 MB of 32-byte items.
const CHUNK: usize = 1 << 16;

pub struct Chunked<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Chunked { chunks: Vec::new(), len: 0 }
    }
}

impl<T> Chunked<T> {
    pub fn push(&mut self, item: T) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push(item),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(item);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    pub fn get(&self, index: usize) -> Option<&T> {
        self.chunks.get(index / CHUNK)?.get(index % CHUNK)
    }

    pub fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        self.chunks.get_mut(index / CHUNK)?.get_mut(index % CHUNK)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.chunks.iter_mut().flatten()
    }

    /// The items in order; each chunk is freed once its last item is taken.
    pub fn drain_in_order(self) -> impl Iterator<Item = T> {
        self.chunks.into_iter().flatten()
    }
}

impl<T> FromIterator<T> for Chunked<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        let mut chunked = Chunked::default();
        for item in items {
            chunked.push(item);
        }
        chunked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_keep_their_places_across_chunks() {
        let mut list: Chunked<usize> = (0..CHUNK * 2 + 5).collect();
        assert_eq!(list.len(), CHUNK * 2 + 5);
        assert_eq!(list.get(CHUNK + 1), Some(&(CHUNK + 1)));
        assert_eq!(list.get(CHUNK * 2 + 5), None);
        *list.get_mut(CHUNK).unwrap() = 7;
        assert_eq!(list.iter().nth(CHUNK), Some(&7));
        assert!(list.drain_in_order().enumerate().all(|(i, v)| v == i || (i == CHUNK && v == 7)));
    }
}
