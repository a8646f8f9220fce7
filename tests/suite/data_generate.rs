//! The seed's `create_image` recipe and `cnn-tutor data generate`.

use std::path::Path;
use std::process::Command;

use cnn_tutor::data::{self, create_image, generate, Shape};
use cnn_tutor::Error;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Check one image against the recipe; returns the shape's bounding box (x0, y0, x1, y1).
fn check_recipe(img: &image::RgbImage) -> (u32, u32, u32, u32) {
    assert_eq!(img.dimensions(), (128, 128));
    let mut colour = None;
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for (x, y, p) in img.enumerate_pixels() {
        if p.0 == [255, 255, 255] {
            continue;
        }
        // one flat colour, each channel 0..=200
        assert!(p.0.iter().all(|&c| c <= 200), "colour {:?}", p.0);
        match colour {
            None => colour = Some(p.0),
            Some(c) => assert_eq!(c, p.0, "one colour per image"),
        }
        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
    }
    assert!(colour.is_some(), "something is drawn");
    // the box is (xy1, xy1)-(xy2, xy2): xy1 in 10..=40, xy2 in 60..=100
    assert_eq!((x0, x1), (y0, y1), "square bounding box");
    assert!((10..=40).contains(&x0), "xy1 = {x0}");
    assert!((60..=100).contains(&x1), "xy2 = {x1}");
    (x0, y0, x1, y1)
}

#[test]
fn recipe_holds_for_many_random_images() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for shape in Shape::ALL {
        for _ in 0..200 {
            let img = create_image(shape, &mut rng);
            let (a, _, b, _) = check_recipe(&img);
            let inside = img
                .enumerate_pixels()
                .filter(|(_, _, p)| p.0 != [255, 255, 255])
                .count() as f64;
            let side = f64::from(b - a + 1);
            let fill = inside / (side * side);
            // square fills its box, a disc ~pi/4 of it, a triangle ~half
            let (lo, hi) = match shape {
                Shape::Square => (1.0, 1.0),
                Shape::Circle => (0.74, 0.83),
                Shape::Triangle => (0.49, 0.56),
            };
            assert!(
                (lo..=hi).contains(&fill),
                "{shape}: fill {fill} of {side}x{side}"
            );
        }
    }
}

#[test]
fn same_seed_same_images_per_class() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let s = generate(a.path(), 4, 9).unwrap();
    assert_eq!((s.images, s.per_class, s.seed), (12, 4, 9));
    // fewer per class: the first images of each class are the same files
    generate(b.path(), 2, 9).unwrap();
    for shape in Shape::ALL {
        for i in 0..2 {
            let name = data::shapes::image_file_name(shape, i);
            let fa = std::fs::read(a.path().join(shape.name()).join(&name)).unwrap();
            let fb = std::fs::read(b.path().join(shape.name()).join(&name)).unwrap();
            assert_eq!(fa, fb, "{name}");
        }
    }
    // another seed, other images
    let c = tempfile::tempdir().unwrap();
    generate(c.path(), 1, 10).unwrap();
    let name = "circle0001.png";
    assert_ne!(
        std::fs::read(a.path().join("circle").join(name)).unwrap(),
        std::fs::read(c.path().join("circle").join(name)).unwrap()
    );
}

#[test]
fn generated_files_are_named_and_follow_the_recipe() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), 3, 1).unwrap();
    for shape in Shape::ALL {
        let mut names: Vec<String> = std::fs::read_dir(dir.path().join(shape.name()))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let want: Vec<String> = (1..=3).map(|i| format!("{shape}{i:04}.png")).collect();
        assert_eq!(names, want, "no temporary files left, names as promised");
        for n in &names {
            let img = image::open(dir.path().join(shape.name()).join(n)).unwrap();
            assert_eq!(img.color(), image::ColorType::Rgb8);
            check_recipe(&img.to_rgb8());
        }
    }
}

#[test]
fn zero_per_class_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = generate(dir.path(), 0, 1).unwrap_err();
    assert!(matches!(err, Error::Usage(_)), "{err}");
}

#[test]
fn generate_into_a_file_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("taken");
    std::fs::write(&file, b"x").unwrap();
    let err = generate(&file, 1, 1).unwrap_err();
    assert!(err.to_string().contains("taken"), "{err}");
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cnn-tutor"))
}

#[test]
fn cli_generate_prints_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("shapes");
    let res = bin()
        .args([
            "data",
            "generate",
            "--per-class",
            "2",
            "--seed",
            "5",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let stdout = String::from_utf8(res.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains("wrote 6 images"), "{stdout}");
    assert!(Path::new(&out).join("triangle/triangle0002.png").is_file());

    let res = bin()
        .args(["data", "generate", "--per-class", "0", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!res.status.success());
    let stderr = String::from_utf8(res.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--per-class"), "{stderr}");
}

/// Compare our drawing with PIL's for every box the recipe can pick. Needs the files of
/// `scripts/pil_shapes.py OUT` and `CNN_TUTOR_PIL_SHAPES=OUT`; run with `--ignored`.
#[test]
#[ignore = "needs CNN_TUTOR_PIL_SHAPES (scripts/pil_shapes.py)"]
fn pil_drawing_matches() {
    let Some(dir) = std::env::var_os("CNN_TUTOR_PIL_SHAPES") else {
        println!("skipped: CNN_TUTOR_PIL_SHAPES is not set");
        return;
    };
    let dir = Path::new(&dir);
    for shape in Shape::ALL {
        let (mut worst, mut total, mut exact, mut boxes) = (0usize, 0usize, 0usize, 0usize);
        for xy1 in 10..=40u32 {
            for xy2 in 60..=100u32 {
                let pil = image::open(dir.join(format!("{shape}_{xy1}_{xy2}.png")))
                    .unwrap()
                    .to_rgb8();
                let params = data::ShapeParams {
                    xy1,
                    xy2,
                    color: [0, 0, 0],
                };
                let ours = data::draw_shape(shape, params);
                let diff = pil
                    .pixels()
                    .zip(ours.pixels())
                    .filter(|(a, b)| a != b)
                    .count();
                worst = worst.max(diff);
                total += diff;
                exact += usize::from(diff == 0);
                boxes += 1;
            }
        }
        println!(
            "{shape}: {exact}/{boxes} boxes identical to PIL, {:.2} pixels differ on average, at most {worst}",
            total as f64 / boxes as f64
        );
        // measured: squares and triangles are PIL's pixel for pixel, and so are circles
        // covering an odd number of pixels; the others differ by a few edge pixels
        let limit = if shape == Shape::Circle { 48 } else { 0 };
        assert!(worst <= limit, "{shape}: {worst} pixels differ");
    }
}
