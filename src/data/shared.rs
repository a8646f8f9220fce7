//! One copy of a folder's images for every run of this process that reads the same folder,
//! unchanged, under the same budget: a classroom of 40 students training on the server's
//! folder holds its pixels once (59 MB for the course's 1,200 images), not once per
//! student's results screen. A copy lives as long as some run or results screen holds it
//! (the cache keeps only a weak reference), and a folder whose files changed (added,
//! removed, rewritten: another length or modification time) is read again.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use super::folder::{index_parts, load_folder_budget, Dataset};
use crate::Result;

/// What identifies a folder's contents: its path, the budget, and every file's path,
/// length and modification time, hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Key {
    dir: PathBuf,
    budget: usize,
    files: usize,
    hash: u64,
}

#[derive(Debug)]
struct Entry {
    key: Key,
    data: Weak<Dataset>,
    notes: Vec<String>,
}

static CACHE: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

fn key(dir: &Path, budget: usize) -> Result<Key> {
    let index = index_parts(dir, false)?;
    let mut h = DefaultHasher::new();
    for f in &index.files {
        f.hash(&mut h);
        if let Ok(m) = std::fs::metadata(f) {
            m.len().hash(&mut h);
            m.modified().ok().hash(&mut h);
        }
    }
    index.labels.hash(&mut h);
    Ok(Key {
        dir: std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf()),
        budget,
        files: index.files.len(),
        hash: h.finish(),
    })
}

/// [`load_folder_budget`], sharing the images with any run still holding the same
/// folder's: the data set and the notes its loading gave.
pub fn load_folder_shared(dir: &Path, budget: usize) -> Result<(Arc<Dataset>, Vec<String>)> {
    let key = key(dir, budget)?;
    {
        let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|e| e.data.strong_count() > 0);
        if let Some(e) = cache.iter().find(|e| e.key == key) {
            if let Some(data) = e.data.upgrade() {
                return Ok((data, e.notes.clone()));
            }
        }
    }
    let (data, notes) = load_folder_budget(dir, budget)?;
    let data = Arc::new(data);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    cache.retain(|e| e.key != key && e.data.strong_count() > 0);
    cache.push(Entry {
        key,
        data: Arc::downgrade(&data),
        notes: notes.clone(),
    });
    Ok((data, notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_folder_is_held_once_and_read_again_once_changed() {
        let dir = tempfile::tempdir().unwrap();
        crate::data::generate(dir.path(), 4, 1).unwrap();
        let budget = 1 << 30;
        let (a, _) = load_folder_shared(dir.path(), budget).unwrap();
        let (b, _) = load_folder_shared(dir.path(), budget).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "one copy for both");
        let (c, _) = load_folder_shared(dir.path(), budget / 2).unwrap();
        assert!(!Arc::ptr_eq(&a, &c), "another budget is another copy");
        // a file rewritten: read again, and the new pixels are the ones seen
        let first = a.files[0].clone();
        let other = a.files[a.len() - 1].clone();
        std::fs::copy(&other, &first).unwrap();
        let (d, _) = load_folder_shared(dir.path(), budget).unwrap();
        assert!(!Arc::ptr_eq(&a, &d));
        assert_eq!(d.image(0).to_vec(), d.image(d.len() - 1).to_vec());
        // nobody holds it: it is gone, and the next load reads the folder
        let weak = Arc::downgrade(&d);
        drop((a, b, c, d));
        assert!(weak.upgrade().is_none());
    }
}
