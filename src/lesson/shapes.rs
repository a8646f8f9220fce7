//! A small shape drawer for the image lessons.
