//! Every message a bad lesson file can get, word for word: one snapshot, so a change to
//! the lesson loader that changes what a teacher reads shows up in review.

use cnn_tutor::lesson::Lesson;
use cnn_tutor::Error;

const CONV: &str = "id = \"c\"\ntitle = \"C\"\nkind = \"convolution\"\nimage = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]\nkernel = [[1, 0], [0, 1]]\n";
const DROP: &str = "id = \"d\"\ntitle = \"D\"\nkind = \"dropout\"\nimage = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]\nkernels = [[[1]], [[2]]]\n";
const FLAT: &str = "id = \"f\"\ntitle = \"F\"\nkind = \"flatten\"\nimage = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]\nkernel = [[1]]\n";
const FC: &str = "id = \"fc\"\ntitle = \"FC\"\nkind = \"fully-connected\"\ninputs = [1, 2]\nweights = [[1, 2], [3, 4], [5, 6]]\n";
const ARCH: &str =
    "id = \"a\"\ntitle = \"A\"\nkind = \"architecture\"\nkernels = [[[1, 0], [0, 1]]]\n";
const TRAIN: &str = "id = \"t\"\ntitle = \"T\"\nkind = \"train\"\n";

fn message(text: &str) -> String {
    match Lesson::parse("x.toml", text) {
        Err(Error::Lesson(msg)) => msg,
        Err(other) => panic!("not a lesson error: {other:?}"),
        Ok(_) => "(loads)".to_string(),
    }
}

fn with(base: &str, extra: &str) -> String {
    format!("{base}{extra}\n")
}

#[test]
fn every_lesson_file_error_reads_as_before() {
    let big_row = format!("[{}]", vec!["1"; 17].join(", "));
    let big = format!("[{}]", vec![big_row.as_str(); 17].join(", "));
    let row16 = format!("[{}]", vec!["1"; 16].join(", "));
    let img16 = format!("[{}]", vec![row16.as_str(); 16].join(", "));
    let cases: Vec<(&str, String)> = vec![
        ("syntax", CONV.replace("title = \"C\"", "title = \"C")),
        ("typo", with(CONV, "kernal = [[1]]")),
        ("wrong type", with(CONV, "stride = \"two\"")),
        ("unknown kind", CONV.replace("convolution", "convolutoin")),
        ("not used", with(CONV, "dropout_p = 0.5")),
        ("not used by train", with(TRAIN, "seed = 1")),
        ("bad id", CONV.replace("id = \"c\"", "id = \"Big C\"")),
        ("empty title", CONV.replace("title = \"C\"", "title = \"  \"")),
        ("no id", CONV.replace("id = \"c\"\n", "")),
        ("text typo", with(CONV, "[text]\nintor = \"x\"")),
        ("placeholder", with(CONV, "[text]\nstep = \"{valeu}\"")),
        ("no placeholders", with(CONV, "[text]\nintro = \"{row}\"")),
        ("open brace", with(CONV, "[text]\nstep = \"{row\"")),
        ("ragged", CONV.replace("[4, 5, 6]", "[4, 5]")),
        ("empty matrix", CONV.replace("[[1, 0], [0, 1]]", "[]")),
        ("not finite", CONV.replace("[[1, 0], [0, 1]]", "[[1, 0], [0, 1e9]]")),
        ("too big", CONV.replace("[[1, 2, 3], [4, 5, 6], [7, 8, 9]]", &big)),
        ("kernel and kernels", with(DROP, "kernel = [[1]]")),
        ("no kernels", DROP.replace("[[[1]], [[2]]]", "[]")),
        ("kernels differ", DROP.replace("[[2]]", "[[2, 3]]")),
        ("stride 0", with(CONV, "stride = 0")),
        ("padding 9", with(CONV, "padding = 9")),
        ("edge fill stride", with(CONV, "stride = 2\nedge_fill = 0")),
        ("edge fill even", with(CONV, "edge_fill = 0")),
        ("pool size 0", with(DROP, "pool_size = 0")),
        ("pool stride 9", with(DROP, "pool_stride = 9")),
        ("pool too big", with(DROP, "pool_size = 4")),
        (
            "pooling pool too big",
            CONV.replace("convolution", "pooling") + "pool_size = 3\n",
        ),
        ("p 1.5", with(DROP, "dropout_p = 1.5")),
        ("shape", with(DROP, "shape = \"hexagon\"")),
        ("image size", with(DROP, "image_size = 8")),
        ("needs image", "id = \"r\"\ntitle = \"R\"\nkind = \"relu\"\n".to_string()),
        (
            "needs kernel",
            CONV.replace("kernel = [[1, 0], [0, 1]]\n", ""),
        ),
        ("kernel bigger", CONV.replace("[[1, 0], [0, 1]]", "[[1, 0, 0, 0]]")),
        (
            "kernel bigger padded",
            CONV.replace("[[1, 0], [0, 1]]", "[[1, 0, 0, 0, 0, 0]]") + "padding = 1\n",
        ),
        (
            "flatten too many",
            FLAT.replace("[[1, 2, 3], [4, 5, 6], [7, 8, 9]]", &img16)
                .replace("[[1]]", "[[1], [1]]")
                .replace("kernel =", "kernels = [[[1]], [[2]]]\n#"),
        ),
        ("fc needs weights", FC.replace("weights = [[1, 2], [3, 4], [5, 6]]\n", "")),
        ("fc inputs", FC.replace("[1, 2]\n", "[]\n")),
        ("fc per input", FC.replace("[1, 2]\n", "[1, 2, 3]\n")),
        ("fc per class", with(FC, "classes = [\"a\", \"b\"]")),
        ("fc bias", with(FC, "bias = [1, 2]")),
        ("fc classes", with(FC, "classes = [\"a\"]")),
        ("fc weights too big", FC.replace("[[1, 2], [3, 4], [5, 6]]", "[[1, 2], [1, 2], [1, 2], [1, 2], [1, 2], [1, 2], [1, 2], [1, 2], [1, 2], [1, 2], [1, 2]]")),
        ("arch needs kernels", ARCH.replace("kernels = [[[1, 0], [0, 1]]]\n", "")),
        ("arch pool", with(ARCH, "image_size = 16\npool_size = 8\npadding = 0\nkernel = [[1]]").replace("kernels = [[[1, 0], [0, 1]]]\n", "")),
        ("arch image", with(ARCH, "image_size = 16\npadding = 0").replace("[[[1, 0], [0, 1]]]", "[[[1]]]").replace("[[[1]]]", &format!("[{}]", big))),
        ("good", CONV.to_string()),
    ];
    let out: Vec<String> = cases
        .iter()
        .map(|(name, text)| format!("{name}: {}", message(text)))
        .collect();
    insta::assert_snapshot!(out.join("\n"));
}
