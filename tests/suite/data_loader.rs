//! Loading image folders as torchvision's ImageFolder + ToTensor + Normalize(0.5, 0.5) do.

use std::path::{Path, PathBuf};

use cnn_tutor::data::{
    self, generate, load_folder, load_folder_quiet, load_image, normalize_pixel, split, Shape,
    IMAGE_LEN,
};
use cnn_tutor::Error;
use image::{GrayImage, Luma, Rgb, RgbImage, Rgba, RgbaImage};

fn white() -> RgbImage {
    RgbImage::from_pixel(128, 128, Rgb([255, 255, 255]))
}

fn save(img: &RgbImage, path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    img.save(path).unwrap();
}

fn data_err(dir: &Path) -> String {
    match load_folder(dir) {
        Err(e @ Error::Data(_)) => {
            let s = e.to_string();
            assert_eq!(s.lines().count(), 1, "one line: {s}");
            s
        }
        Err(e) => panic!("expected a data error, got {e:?}"),
        Ok(d) => panic!("expected an error, loaded {} images", d.len()),
    }
}

#[test]
fn generated_folder_loads_in_imagefolder_order() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), 5, 3).unwrap();
    let ds = load_folder(dir.path()).unwrap();
    assert_eq!(ds.classes, ["circle", "square", "triangle"]);
    assert_eq!(ds.len(), 15);
    assert_eq!(ds.pixels.len(), 15 * IMAGE_LEN);
    assert_eq!(ds.labels, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
    assert_eq!(ds.class_counts(), [5, 5, 5]);
    assert!(ds.files[0].ends_with("circle/circle0001.png"));
    assert!(ds.files[14].ends_with("triangle/triangle0005.png"));
    // PNG round trip is lossless: the pixels are what the generator drew
    for (i, shape) in [
        (0, Shape::Circle),
        (7, Shape::Square),
        (14, Shape::Triangle),
    ] {
        let k = i % 5;
        let drawn = data::create_image(shape, &mut data::shapes::image_rng(3, shape, k));
        assert_eq!(ds.image(i), data::rgb_to_chw(&drawn).as_slice());
    }
}

#[test]
fn known_pixels_normalise_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let mut img = white();
    img.put_pixel(0, 0, Rgb([0, 255, 128]));
    img.put_pixel(127, 127, Rgb([1, 2, 254]));
    save(&img, &dir.path().join("only/a.png"));
    let ds = load_folder(dir.path()).unwrap();
    let mut out = vec![0f32; 2 * IMAGE_LEN];
    ds.normalized_into(&[0, 0], &mut out);
    let plane = 128 * 128;
    assert_eq!(out[0], -1.0);
    assert_eq!(out[plane], 1.0);
    let exact_128 = (128f32 / 255.0 - 0.5) / 0.5;
    assert_eq!(out[2 * plane].to_bits(), exact_128.to_bits());
    assert_eq!(exact_128, 0.003921628); // f32 nearest, as PyTorch prints it
    assert_eq!(out[plane - 1], normalize_pixel(1));
    assert_eq!(out[3 * plane - 1], normalize_pixel(254));
    assert_eq!(out[1], 1.0, "white background");
    // second copy is the same image
    assert_eq!(out[..IMAGE_LEN], out[IMAGE_LEN..]);
}

#[test]
fn classes_and_files_sort_like_imagefolder() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for name in [
        "b/x2.png",
        "b/x10.PNG",
        "b/sub/a.jpg",
        "a/z.jpeg",
        "c/Q.JPG",
        "c/a.png",
    ] {
        let path = d.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        if name.to_ascii_lowercase().ends_with("png") {
            white()
                .save_with_format(&path, image::ImageFormat::Png)
                .unwrap();
        } else {
            white()
                .save_with_format(&path, image::ImageFormat::Jpeg)
                .unwrap();
        }
    }
    // not images: ignored, as ImageFolder does
    std::fs::write(d.join("b/notes.txt"), "hello").unwrap();
    std::fs::write(d.join("b/Thumbs.db"), "x").unwrap();
    std::fs::write(d.join("README.md"), "a file at the top is not a class").unwrap();
    let ds = load_folder(d).unwrap();
    assert_eq!(ds.classes, ["a", "b", "c"]);
    let rel: Vec<String> = ds
        .files
        .iter()
        .map(|f| {
            f.strip_prefix(d)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    // string order (x10 before x2, upper case before lower), folder before its sub-folders
    assert_eq!(
        rel,
        [
            "a/z.jpeg",
            "b/x10.PNG",
            "b/x2.png",
            "b/sub/a.jpg",
            "c/Q.JPG",
            "c/a.png"
        ]
    );
    assert_eq!(ds.labels, [0, 1, 1, 1, 2, 2]);
}

#[test]
fn grey_rgba_and_odd_sizes_are_converted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("k");
    std::fs::create_dir_all(&d).unwrap();
    GrayImage::from_pixel(128, 128, Luma([77]))
        .save(d.join("1grey.png"))
        .unwrap();
    RgbaImage::from_pixel(128, 128, Rgba([10, 20, 30, 0]))
        .save(d.join("2rgba.png"))
        .unwrap();
    RgbImage::from_pixel(64, 32, Rgb([9, 99, 199]))
        .save(d.join("3small.png"))
        .unwrap();
    let (ds, resized) = load_folder_quiet(dir.path()).unwrap();
    assert_eq!(resized, 1);
    assert!(
        ds.image(0).iter().all(|&p| p == 77),
        "grey copied to R, G, B"
    );
    let plane = 128 * 128;
    let rgba = ds.image(1);
    // alpha dropped, not composited (PIL's convert("RGB"))
    assert_eq!((rgba[0], rgba[plane], rgba[2 * plane]), (10, 20, 30));
    let small = ds.image(2);
    assert!(small[..plane].iter().all(|&p| p == 9));
    assert!(small[plane..2 * plane].iter().all(|&p| p == 99));
    assert!(small[2 * plane..].iter().all(|&p| p == 199));
    // load_image converts the same way
    assert_eq!(load_image(&d.join("3small.png")).unwrap(), small);
    assert!(data::decode_image(&d.join("3small.png"))
        .unwrap()
        .was_resized());
}

#[test]
fn missing_folder_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-folder");
    let e = data_err(&missing);
    assert!(
        e.contains("no-such-folder") && e.contains("does not exist"),
        "{e}"
    );
}

#[test]
fn a_file_is_not_a_data_folder() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain.txt");
    std::fs::write(&file, "x").unwrap();
    let e = data_err(&file);
    assert!(e.contains("plain.txt") && e.contains("not a folder"), "{e}");
}

#[test]
fn no_class_folders() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.png"), "x").unwrap();
    let e = data_err(dir.path());
    assert!(e.contains("no class folders"), "{e}");
}

#[test]
fn empty_class_folder_is_named() {
    let dir = tempfile::tempdir().unwrap();
    save(&white(), &dir.path().join("circle/a.png"));
    std::fs::create_dir_all(dir.path().join("square")).unwrap();
    std::fs::write(dir.path().join("square/notes.txt"), "not an image").unwrap();
    let e = data_err(dir.path());
    assert!(e.contains("square") && e.contains("no PNG or JPEG"), "{e}");
}

#[test]
fn broken_and_fake_images_are_named() {
    let cases: [(&str, &[u8]); 3] = [
        ("circle/fake.png", b"this is text, not a picture"),
        ("circle/empty.jpg", b""),
        (
            "circle/cut.png",
            &[0x89, b'P', b'N', b'G', 13, 10, 26, 10, 0, 0],
        ),
    ];
    for (name, bytes) in cases {
        let dir = tempfile::tempdir().unwrap();
        save(&white(), &dir.path().join("circle/good.png"));
        std::fs::write(dir.path().join(name), bytes).unwrap();
        let e = data_err(dir.path());
        let file = Path::new(name).file_name().unwrap().to_str().unwrap();
        assert!(e.contains(file), "{name}: {e}");
    }
    // an image extension we do not decode is refused by name
    let dir = tempfile::tempdir().unwrap();
    save(&white(), &dir.path().join("circle/good.png"));
    std::fs::write(dir.path().join("circle/old.BMP"), b"BM").unwrap();
    let e = data_err(dir.path());
    assert!(e.contains("old.BMP") && e.contains("PNG and JPEG"), "{e}");
    // and load_image names its file too
    let e = load_image(&dir.path().join("circle/old.BMP")).unwrap_err();
    assert!(e.to_string().contains("old.BMP"), "{e}");
    let e = load_image(&dir.path().join("circle/gone.png")).unwrap_err();
    assert!(e.to_string().contains("gone.png"), "{e}");
}

#[test]
fn split_of_1200() {
    let (train, val) = split(1200, 42);
    assert_eq!((train.len(), val.len()), (840, 360));
    let mut seen = vec![false; 1200];
    for &i in train.iter().chain(&val) {
        assert!(!seen[i], "index {i} twice");
        seen[i] = true;
    }
    assert!(seen.iter().all(|&s| s));
    assert_eq!(split(1200, 42), (train, val));
}

fn shared(rel: &str) -> Option<PathBuf> {
    let p = crate::common::shared(rel);
    if p.exists() {
        Some(p)
    } else {
        crate::common::missing_reference(format!("{} is absent", p.display()));
        None
    }
}

#[test]
fn course_images_load() {
    let Some(dir) = shared("data/ms-learn-shapes") else {
        return;
    };
    let (ds, resized) = load_folder_quiet(&dir).unwrap();
    assert_eq!(ds.classes, ["circle", "square", "triangle"]);
    assert_eq!(ds.class_counts(), [400, 400, 400]);
    assert_eq!(resized, 0);
    // files sorted as strings: circle1, circle10, circle100, ...
    assert!(
        ds.files[0].ends_with("circle/circle1.jpg"),
        "{:?}",
        ds.files[0]
    );
    assert!(ds.files[1].ends_with("circle/circle10.jpg"));
    // JPEG backgrounds are (near) white: the corner pixel normalises close to 1
    let mut out = vec![0f32; IMAGE_LEN];
    ds.normalized_into(&[0], &mut out);
    assert!(out[0] > 0.9, "{}", out[0]);
}

/// JPEGs decode to PIL's pixels bit for bit (libjpeg-turbo's decoder, as PIL uses): the
/// sums below were computed from PIL 13's `Image.open(f).convert("RGB")`, CHW order.
#[test]
fn course_jpegs_decode_as_pil_does() {
    let Some(dir) = shared("data/ms-learn-shapes") else {
        return;
    };
    let cases = [
        ("circle/circle1.jpg", 11_268_228u64, 277_241_210_188u64),
        ("square/square100.jpg", 10_140_560, 259_432_873_057),
        ("triangle/triangle57.jpg", 12_041_892, 297_524_805_365),
    ];
    for (file, sum, weighted) in cases {
        let px = load_image(&dir.join(file)).unwrap();
        let s: u64 = px.iter().map(|&v| u64::from(v)).sum();
        let w: u64 = px.iter().zip(1u64..).map(|(&v, i)| u64::from(v) * i).sum();
        assert_eq!((s, w), (sum, weighted), "{file}");
    }
}

#[test]
fn truncated_and_grey_jpegs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("c");
    std::fs::create_dir_all(&d).unwrap();
    // a grey JPEG becomes three equal channels
    GrayImage::from_fn(128, 128, |x, _| Luma([(x * 2) as u8]))
        .save(d.join("grey.jpg"))
        .unwrap();
    let px = load_image(&d.join("grey.jpg")).unwrap();
    let plane = 128 * 128;
    assert_eq!(px[..plane], px[plane..2 * plane]);
    assert_eq!(px[..plane], px[2 * plane..]);
    // a JPEG cut short is an error naming the file, as in PIL
    let mut img = white();
    img.put_pixel(5, 5, Rgb([0, 0, 0]));
    img.save(d.join("whole.jpg")).unwrap();
    let bytes = std::fs::read(d.join("whole.jpg")).unwrap();
    std::fs::write(d.join("cut.jpg"), &bytes[..bytes.len() * 2 / 3]).unwrap();
    let e = data_err(dir.path());
    assert!(e.contains("cut.jpg") && e.contains("truncated"), "{e}");
    // a JPEG header followed by rubbish
    std::fs::remove_file(d.join("cut.jpg")).unwrap();
    let mut junk = bytes[..20].to_vec();
    junk.extend_from_slice(&[0xFF, 0xDA, 1, 2, 3, 0xFF, 0xD9]);
    std::fs::write(d.join("junk.jpeg"), junk).unwrap();
    let e = data_err(dir.path());
    assert!(e.contains("junk.jpeg") && e.contains("broken"), "{e}");
}

/// The golden file's `input` holds ToTensor + Normalize outputs of 8-bit images: every
/// value must be, bit for bit, one of our 256 normalised values.
#[test]
fn golden_input_values_are_ours_bit_for_bit() {
    let Some(path) = shared("golden/shapes_net_seed42_batch4.safetensors") else {
        return;
    };
    let bytes = std::fs::read(path).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let images = meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get("images").cloned());
    println!("golden source images: {images:?}");
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let input = st.tensor("input").unwrap();
    assert_eq!(input.shape()[1..], [3, 128, 128]);
    let table: std::collections::HashMap<u32, u8> = (0..=255u8)
        .map(|v| (normalize_pixel(v).to_bits(), v))
        .collect();
    let pixels: Vec<u8> = input
        .data()
        .chunks_exact(4)
        .map(|chunk| {
            let bits = u32::from_le_bytes(chunk.try_into().unwrap());
            *table
                .get(&bits)
                .unwrap_or_else(|| panic!("{} is not a normalised u8", f32::from_bits(bits)))
        })
        .collect();
    // and they are images of the seed's recipe: one colour on white, in a square box
    // with its corners at 10..=40 and 60..=100
    let target: Vec<i64> = st
        .tensor("target")
        .unwrap()
        .data()
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    for (chw, &label) in pixels.chunks_exact(IMAGE_LEN).zip(&target) {
        let plane = 128 * 128;
        let mut colours = std::collections::HashSet::new();
        let (mut lo, mut hi) = (u32::MAX, 0);
        for i in 0..plane {
            let px = [chw[i], chw[plane + i], chw[2 * plane + i]];
            if px != [255, 255, 255] {
                colours.insert(px);
                let (x, y) = ((i % 128) as u32, (i / 128) as u32);
                lo = lo.min(x.min(y));
                hi = hi.max(x.max(y));
            }
        }
        assert_eq!(colours.len(), 1, "one fill colour");
        assert!(
            (10..=40).contains(&lo) && (60..=100).contains(&hi),
            "{lo} {hi}"
        );
        // our drawing of the same box and colour: the same image (a circle over an even
        // number of pixels may have a few more edge pixels than PIL's)
        let shape = Shape::ALL[usize::try_from(label).unwrap()];
        let params = data::ShapeParams {
            xy1: lo,
            xy2: hi,
            color: colours.into_iter().next().unwrap(),
        };
        let ours = data::rgb_to_chw(&data::draw_shape(shape, params));
        let differ = ours.iter().zip(chw).filter(|(a, b)| a != b).count() / 3;
        println!("golden {shape} box {lo}..={hi}: {differ} pixels differ from ours");
        let limit = if shape == Shape::Circle { 48 } else { 0 };
        assert!(differ <= limit, "{shape}: {differ} pixels differ");
    }
}

/// Compare our decoding of a folder with PIL's (`scripts/pil_pixels.py DIR OUT`); run with
/// `CNN_TUTOR_PIL_DIR=DIR CNN_TUTOR_PIL_PIXELS=OUT ... -- --ignored pil_decoding`.
#[test]
#[ignore = "needs CNN_TUTOR_PIL_DIR and CNN_TUTOR_PIL_PIXELS (scripts/pil_pixels.py)"]
fn pil_decoding_matches() {
    let (Some(dir), Some(raw)) = (
        std::env::var_os("CNN_TUTOR_PIL_DIR"),
        std::env::var_os("CNN_TUTOR_PIL_PIXELS"),
    ) else {
        println!("skipped: CNN_TUTOR_PIL_DIR or CNN_TUTOR_PIL_PIXELS is not set");
        return;
    };
    let (ds, _) = load_folder_quiet(Path::new(&dir)).unwrap();
    let pil = std::fs::read(raw).unwrap();
    assert_eq!(pil.len(), ds.pixels.len(), "same images in the same order");
    let mut hist = [0usize; 256];
    let mut images_differing = 0;
    for (ours, theirs) in ds.pixels.chunks(IMAGE_LEN).zip(pil.chunks(IMAGE_LEN)) {
        let mut any = false;
        for (a, b) in ours.iter().zip(theirs) {
            let d = a.abs_diff(*b);
            hist[usize::from(d)] += 1;
            any |= d > 0;
        }
        images_differing += usize::from(any);
    }
    let max = hist.iter().rposition(|&n| n > 0).unwrap_or(0);
    let report = format!(
        "{} images, {images_differing} differ from PIL; values off by 0: {}, 1: {}, 2: {}, more: {}; max {max}",
        ds.len(),
        hist[0],
        hist[1],
        hist[2],
        hist[3..].iter().sum::<usize>()
    );
    println!("{report}");
    assert_eq!(images_differing, 0, "{report}");
}
