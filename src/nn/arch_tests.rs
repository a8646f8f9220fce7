//! Tests of `arch.rs`: the text form, the names, the shape rules and their errors.

use super::*;

#[test]
fn the_course_net_reads_back_as_written_with_todays_names() {
    let a = Arch::course();
    assert_eq!(
        a.to_string(),
        COURSE_NET.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    let p = Plan::course(3);
    let names: Vec<&str> = p.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "conv1.weight",
            "conv1.bias",
            "conv2.weight",
            "conv2.bias",
            "conv3.weight",
            "conv3.bias",
            "fc.weight",
            "fc.bias"
        ]
    );
    assert_eq!(
        p.act_names(),
        [
            "conv1",
            "pool1",
            "relu1",
            "conv2",
            "pool2",
            "relu2",
            "conv3",
            "relu3",
            "logits",
            "log_probs"
        ]
    );
    assert_eq!(
        p.param_count(),
        324 + 12 + 1296 + 12 + 2592 + 24 + 73728 + 3
    );
    assert_eq!(p.layers[11].input, Shape::Flat(24576));
    // conv1 27 MAC x 12 x 128^2, conv2 108 x 12 x 64^2, conv3 108 x 24 x 32^2, fc
    let macs = 27 * 12 * 128 * 128 + 108 * 12 * 64 * 64 + 108 * 24 * 32 * 32 + 24576 * 3;
    let convs: u64 = p
        .layers
        .iter()
        .filter(|l| l.module.is_some())
        .map(|l| l.flops)
        .sum();
    assert_eq!(convs, 2 * macs as u64);
}

#[test]
fn arrows_spaces_and_defaults_normalise() {
    let a = Arch::parse(
        "conv( 8 , 5, stride=2 ,pad=2)->maxpool(3,stride=3) -> leakyrelu(0.01) leakyrelu(0.2) flatten->linear(10)->linear",
    )
    .unwrap();
    assert_eq!(
        a.to_string(),
        "conv(8,5,stride=2) maxpool(3) leakyrelu leakyrelu(0.2) flatten linear(10) linear"
    );
    assert_eq!(Arch::parse(&a.to_string()).unwrap(), a);
}

#[test]
fn names_count_each_kind_from_one() {
    let a = Arch::parse(
        "conv(4,3) batchnorm relu avgpool(2) conv(4,1) batchnorm tanh maxpool(2) flatten linear(6) sigmoid linear(5) relu linear",
    )
    .unwrap();
    let p = Plan::new(&a, [3, 16, 16], 3).unwrap();
    let acts: Vec<String> = p.act_names();
    assert_eq!(
        acts,
        [
            "conv1",
            "bn1",
            "relu1",
            "avgpool1",
            "conv2",
            "bn2",
            "tanh1",
            "pool1",
            "fc1",
            "sigmoid1",
            "fc2",
            "relu2",
            "logits",
            "log_probs"
        ]
    );
    let bn: Vec<&str> = p
        .tensors
        .iter()
        .filter(|t| t.name.starts_with("bn1"))
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(
        bn,
        [
            "bn1.weight",
            "bn1.bias",
            "bn1.running_mean",
            "bn1.running_var",
            "bn1.num_batches_tracked"
        ]
    );
    assert!(p
        .tensors
        .iter()
        .any(|t| t.name == "fc3.weight" && t.shape == [3, 5]));
    // trainable: convs, bn weight+bias, linears (not the running statistics)
    // 16x16 -> avgpool 8x8 -> maxpool 4x4: 4 maps of 4x4 = 64 values enter fc1
    let want = (4 * 27 + 4) + 8 + (4 * 4 + 4) + 8 + (64 * 6 + 6) + (6 * 5 + 5) + (5 * 3 + 3);
    assert_eq!(p.param_count(), want);
}

#[test]
fn impossible_networks_name_the_layer_and_the_reason() {
    let err = |s: &str, input: [usize; 3]| {
        let a = Arch::parse(s).and_then(|a| Plan::new(&a, input, 3));
        a.expect_err(s).to_string()
    };
    let e = err(
        "conv(4,3) maxpool(2) maxpool(2) maxpool(2) flatten linear",
        [3, 4, 4],
    );
    assert!(
        e.contains("layer 4 maxpool(2): its input is 1x1, smaller than the 2x2 window"),
        "{e}"
    );
    let e = err("conv(4,3) linear flatten", [3, 8, 8]);
    assert!(e.contains("layer 2 linear: linear before flatten"), "{e}");
    let e = err("conv(300,3) flatten linear", [3, 8, 8]);
    assert!(
        e.contains("layer 1 `conv(300,3)`: OUT 300 is out of range (1 to 256)"),
        "{e}"
    );
    let e = err("conv(3,13) flatten linear", [3, 8, 8]);
    assert!(e.contains("K 13 is out of range (1 to 11)"), "{e}");
    let e = err("conv(4,3) pool(2) flatten linear", [3, 8, 8]);
    assert!(e.contains("layer 2 `pool(2)`: unknown layer"), "{e}");
    let e = err("conv(4) flatten linear", [3, 8, 8]);
    assert!(e.contains("needs OUT and K"), "{e}");
    let e = err("flatten conv(4,3) linear", [3, 8, 8]);
    assert!(e.contains("layer 2 conv(4,3): it needs maps"), "{e}");
    let e = err("conv(4,3) flatten", [3, 8, 8]);
    assert!(e.contains("no linear layer"), "{e}");
    let e = err("flatten linear(5)", [3, 8, 8]);
    assert!(
        e.contains("ends with 5 values, but the data has 3 classes"),
        "{e}"
    );
    let e = err("flatten linear linear", [3, 8, 8]);
    assert!(e.contains("layer 2 linear: `linear` without N"), "{e}");
    let e = err("dropout(1.5) flatten linear", [3, 8, 8]);
    assert!(e.contains("p 1.5 is out of range"), "{e}");
    let e = err("conv(4,3,strid=2) flatten linear", [3, 8, 8]);
    assert!(e.contains("`strid=` is not an option"), "{e}");
    let e = err("conv(4,3 flatten linear", [3, 8, 8]);
    assert!(e.contains("layer 1: a `(` without its `)`"), "{e}");
    let e = err("", [3, 8, 8]);
    assert!(e.contains("no layers"), "{e}");
    let e = err(
        "flatten linear(4096) linear(4096) linear(4096) linear",
        [3, 128, 128],
    );
    assert!(e.contains("trainable values, more than"), "{e}");
}
