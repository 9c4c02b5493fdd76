"""The keras-io examples of the Keras corpus's second part (corpus/keras_io.py): which ones, which of their
statements are kept, what stands in for their data, and the driver appended to each.

An example's text is its file with `keras_core` read as `keras` (keras-core was renamed Keras 3) and every
top-level statement that does not start in a `keep` range blanked (lines never move, so a line in a finding
is the example's line). In a kept range, top-level expression statements other than `.compile(...)`,
`.add(...)`, `.build(...)` and `.adapt(...)` (prints, plots, summaries, training runs) are blanked too. `subs` replaces the
statement starting on a line (its other lines blanked) with fake data of the shapes the example's real data
has (keras.datasets, downloads and files cannot be read here), documented in the comment beside it. The
driver builds nothing new: it calls the example's model on a small batch (`out`), and fits one epoch on the
fake data where the example trains on arrays, so its loss is checked against the data too.

`data_mutants`: (text in a `subs` line or the driver, replacement): one change of the data's shape each.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Example:
    path: str  # in keras-team/keras-core, under examples/keras_io/
    keep: tuple  # (first, last) line ranges: the top-level statements starting in them are kept
    driver: str
    subs: dict = field(default_factory=dict)
    data_mutants: tuple = ()
    mutants: int = 20  # layer-argument mutants at most (fewer where one run takes most of a minute)


def _mnist(n: int = 8, every_digit: bool = False) -> str:
    """keras.datasets.mnist.load_data(): uint8 images (N, 28, 28), uint8 labels (N,) (0..9 in turn where the
    example pairs digits by class)."""
    labels = f'np.arange({n}, dtype="uint8") % 10' if every_digit else f'np.zeros(({n},), "uint8")'
    part = f'(np.zeros(({n}, 28, 28), "uint8"), {labels})'
    return f"({part}, {part})"


def _cifar(n: int = 8) -> str:
    """keras.datasets.cifar10/cifar100.load_data(): uint8 images (N, 32, 32, 3), uint8 labels (N, 1)."""
    part = f'(np.zeros(({n}, 32, 32, 3), "uint8"), np.zeros(({n}, 1), "uint8"))'
    return f"({part}, {part})"


EXAMPLES = {
    "mnist_convnet": Example(
        "vision/mnist_convnet.py", keep=((14, 16), (23, 42), (48, 59), (67, 72)),
        subs={27: f"(x_train, y_train), (x_test, y_test) = {_mnist()}"},
        driver=("out = model(x_train[:2])\n"
                "model.fit(x_train, y_train, batch_size=4, epochs=1, verbose=0)\n"),
        data_mutants=(("model(x_train[:2])", "model(x_train[0])"),
                      ("model.fit(x_train, y_train,", "model.fit(x_train, y_train[:, :5],"))),
    "autoencoder": Example(
        "vision/autoencoder.py", keep=((24, 24), (27, 46), (79, 87), (98, 117)),
        subs={79: f"(train_data, _), (test_data, _) = {_mnist()}"},
        driver=("out = autoencoder(noisy_train_data[:2])\n"
                "autoencoder.fit(x=noisy_train_data, y=train_data, epochs=1, batch_size=4, verbose=0)\n"),
        data_mutants=(("autoencoder(noisy_train_data[:2])", "autoencoder(noisy_train_data[:2, :14])"),
                      ("y=train_data,", "y=train_data[:, ::2],"))),
    "timeseries_classification_from_scratch": Example(
        # FordA: 3601 series of 500 steps, labels -1 / 1
        "timeseries/timeseries_classification_from_scratch.py",
        keep=((22, 23), (48, 58), (96, 121), (136, 164), (184, 188)),
        subs={57: "x_train, y_train = np.zeros((8, 500)), np.array([-1, 1] * 4)",
              58: "x_test, y_test = np.zeros((8, 500)), np.array([-1, 1] * 4)"},
        driver=("out = model(x_train[:2])\n"
                "model.fit(x_train, y_train, batch_size=4, epochs=1, verbose=0)\n"),
        data_mutants=(("out = model(x_train[:2])", "out = model(x_train[:2, :, 0])"),)),
    "timeseries_classification_transformer": Example(
        "timeseries/timeseries_classification_transformer.py", keep=((27, 52), (65, 148)),
        subs={39: "x_train, y_train = np.zeros((8, 500)), np.array([-1, 1] * 4)",
              40: "x_test, y_test = np.zeros((8, 500)), np.array([-1, 1] * 4)"},
        driver=("out = model(x_train[:2])\n"
                "model.fit(x_train, y_train, batch_size=4, epochs=1, verbose=0)\n"),
        data_mutants=(("out = model(x_train[:2])", "out = model(x_train[:2, :, 0])"),)),
    "timeseries_anomaly_detection": Example(
        # NAB art_daily_small_noise: 4032 values, cut into windows of TIME_STEPS (288) by create_sequences
        "timeseries/timeseries_anomaly_detection.py", keep=((21, 21), (23, 24), (106, 117), (129, 165)),
        subs={117: "x_train = np.zeros((8, TIME_STEPS, 1))"},
        driver=("out = model(x_train[:2])\n"
                "model.fit(x_train, x_train, epochs=1, batch_size=4, verbose=0)\n"),
        data_mutants=(("out = model(x_train[:2])", "out = model(x_train[:2, :100])"),)),
    "addition_rnn": Example(
        # the generated questions, one-hot: x (N, MAXLEN, len(chars)), y (N, DIGITS + 1, len(chars))
        "nlp/addition_rnn.py", keep=((49, 60), (67, 110), (181, 206)),
        driver=("x_train = np.zeros((8, MAXLEN, len(chars)), dtype=bool)\n"
                "y_train = np.zeros((8, DIGITS + 1, len(chars)), dtype=bool)\n"
                "out = model(x_train[:2])\n"
                "model.fit(x_train, y_train, batch_size=4, epochs=1, verbose=0)\n"),
        data_mutants=(("np.zeros((8, MAXLEN, len(chars)), dtype=bool)", "np.zeros((8, MAXLEN, 10), dtype=bool)"),
                      ("np.zeros((8, DIGITS + 1, len(chars)), dtype=bool)", "np.zeros((8, DIGITS, len(chars)), dtype=bool)"))),
    "bidirectional_lstm_imdb": Example(
        # keras.datasets.imdb.load_data(): lists of word indices, labels 0 / 1
        "nlp/bidirectional_lstm_imdb.py", keep=((13, 33), (40, 48), (57, 59)),
        subs={40: "(x_train, y_train), (x_val, y_val) = ([[1, 2, 3]] * 8, np.zeros((8,))), ([[1, 2, 3]] * 8, np.zeros((8,)))"},
        # no fit: the torch backend's LSTM steps in Python, 200 of them, so a fit takes minutes on 2 cores
        driver="out = model(x_train[:2])\n",
        data_mutants=(("out = model(x_train[:2])", "out = model(x_train[0])"),)),
    "conv_lstm": Example(
        # Moving MNIST: (20 frames, 10000 videos, 64, 64) uint8
        "vision/conv_lstm.py", keep=((25, 25), (28, 29), (58, 90), (132, 168)),
        subs={58: 'dataset = np.zeros((20, 4, 64, 64), "uint8")'},
        driver="out = model(x_train[:1])\n", mutants=6,  # three ConvLSTM2D on 19 frames of 64 x 64: ~45 s a run
        data_mutants=(("out = model(x_train[:1])", "out = model(x_train[:1, :, :, :, 0])"),)),
    "oxford_pets_image_segmentation": Example(
        # Oxford-IIIT Pets, read as files and resized to img_size: images (160, 160, 3), masks (160, 160, 1)
        "vision/oxford_pets_image_segmentation.py", keep=((28, 28), (30, 34), (75, 76), (121, 185), (224, 224)),
        driver=("x_train = np.zeros((4,) + img_size + (3,), \"float32\")\n"
                "y_train = np.zeros((4,) + img_size + (1,), \"uint8\")\n"
                "out = model(x_train[:2])\n"),  # no fit: the torch backend's SeparableConv2D backward fails
                # ("grad_input must be contiguous") on the unmutated model
        data_mutants=(("np.zeros((4,) + img_size + (3,), \"float32\")", "np.zeros((4,) + img_size, \"float32\")"),)),
    "cct": Example(
        # keras.datasets.cifar10.load_data(): uint8 (N, 32, 32, 3), labels (N, 1)
        "vision/cct.py", keep=((42, 43), (46, 46), (52, 80), (102, 362), (409, 409)),
        subs={77: f"(x_train, y_train), (x_test, y_test) = {_cifar()}"},
        driver=("out = cct_model(x_train[:2])\n"
                "cct_model.compile(optimizer=\"adam\", loss=keras.losses.CategoricalCrossentropy(from_logits=True))\n"
                "cct_model.fit(x=x_train, y=y_train, batch_size=4, epochs=1, verbose=0)\n"),
        data_mutants=(("out = cct_model(x_train[:2])", "out = cct_model(x_train[:2, :, :, :1])"),
                      ("y=y_train,", "y=y_train[:, :5],"))),
    "mlp_image_classification": Example(
        # keras.datasets.cifar100.load_data(): uint8 (N, 32, 32, 3), labels (N, 1); the example's three
        # classifiers are built (its training runs are not kept)
        "vision/mlp_image_classification.py",
        keep=((31, 33), (39, 42), (51, 59), (73, 140), (147, 313), (344, 392), (419, 481)),
        subs={42: f"(x_train, y_train), (x_test, y_test) = {_cifar()}"},
        driver=("out_mixer = mlpmixer_classifier(x_train[:2])\n"
                "out_fnet = fnet_classifier(x_train[:2])\n"
                "out = gmlp_classifier(x_train[:2])\n"
                "gmlp_classifier.compile(optimizer=\"adam\", "
                "loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))\n"
                "gmlp_classifier.fit(x=x_train, y=y_train, batch_size=4, epochs=1, verbose=0)\n"),
        data_mutants=(("out = gmlp_classifier(x_train[:2])", "out = gmlp_classifier(x_train[:2, :16])"),)),
    "eanet": Example(
        "vision/eanet.py", keep=((28, 30), (39, 66), (76, 261), (270, 281)),
        # the example imports no numpy: the stand-in does, on its line
        subs={42: f"import numpy as np; (x_train, y_train), (x_test, y_test) = {_cifar()}"},
        driver=("out = model(x_train[:2])\n"
                "model.fit(x_train, y_train, batch_size=4, epochs=1, verbose=0)\n"),
        data_mutants=(("out = model(x_train[:2])", "out = model(x_train[:2, :16])"),
                      ("model.fit(x_train, y_train,", "model.fit(x_train, y_train[:, :10],"))),
    "siamese_contrastive": Example(
        # MNIST (20 images: two of each digit, so that make_pairs finds a pair for every class); the
        # validation and test pairs are not made
        "vision/siamese_contrastive.py", keep=((27, 30), (37, 58), (76, 120), (142, 143), (264, 353)),
        subs={44: f"(x_train_val, y_train_val), (x_test, y_test) = {_mnist(20, every_digit=True)}"},
        driver=("out = siamese([x_train_1[:2], x_train_2[:2]])\n"
                "siamese.fit([x_train_1, x_train_2], labels_train, batch_size=4, epochs=1, verbose=0)\n"),
        data_mutants=(("out = siamese([x_train_1[:2], x_train_2[:2]])", "out = siamese([x_train_1[:2], x_train_2[:2, :14]])"),)),
    "attention_mil_classification": Example(
        # MNIST (20 images, two of each digit), bagged by the example's own create_bags into BAG_SIZE (3) arrays
        # of (bags, 28, 28) and labels (bags, 1); 8 training and 4 validation bags instead of 1000 and 300
        "vision/attention_mil_classification.py",
        keep=((56, 59), (84, 89), (99, 135), (139, 149), (174, 277), (353, 385), (473, 474)),
        subs={85: "BAG_COUNT = 8", 86: "VAL_BAG_COUNT = 4",
              139: f"(x_train, y_train), (x_val, y_val) = {_mnist(20, every_digit=True)}"},
        driver=("model = models[0]\n"
                "out = model([bag[:2] for bag in train_data])\n"
                "model.compile(optimizer=\"adam\", loss=\"sparse_categorical_crossentropy\")\n"
                "model.fit(train_data, train_labels, batch_size=4, epochs=1, verbose=0)\n"),
        data_mutants=(("out = model([bag[:2] for bag in train_data])", "out = model([bag[:2] for bag in train_data[:2]])"),
                      ("out = model([bag[:2] for bag in train_data])", "out = model([bag[:2, :14] for bag in train_data])"))),
    "object_detection_using_vision_transformer": Example(
        # Caltech-101 airplanes, read with cv2/scipy and resized: images (N, 224, 224, 3), boxes (N, 4) in [0, 1]
        "vision/object_detection_using_vision_transformer.py",
        keep=((45, 48), (50, 50), (89, 89), (125, 129), (143, 182), (189, 189), (218, 250), (266, 311), (351, 380)),
        subs={125: '(x_train), (y_train) = np.zeros((8, image_size, image_size, 3), "float32"), np.zeros((8, 4), "float32")',
              129: '(x_test), (y_test) = np.zeros((4, image_size, image_size, 3), "float32"), np.zeros((4, 4), "float32")'},
        driver=("out = vit_object_detector(x_train[:2])\n"
                "vit_object_detector.compile(optimizer=\"adam\", loss=keras.losses.MeanSquaredError())\n"
                "vit_object_detector.fit(x=x_train, y=y_train, batch_size=4, epochs=1, verbose=0)\n"),
        data_mutants=(("out = vit_object_detector(x_train[:2])", "out = vit_object_detector(x_train[:2, :200, :200])"),
                      ("fit(x=x_train, y=y_train,", "fit(x=x_train, y=y_train[:, :2],"))),
    "gradient_centralization": Example(
        # horses_or_humans (tensorflow_datasets): (300, 300, 3) images, labels 0 / 1, batched by its tf.data
        # pipeline, which is not kept: the fake arrays are fed as they come out of it
        "vision/gradient_centralization.py", keep=((37, 40), (53, 54), (76, 89), (125, 144), (218, 222)),
        driver=("x_train = np.zeros((4,) + input_shape, \"float32\")\n"
                "y_train = np.zeros((4,), \"float32\")\n"
                "out = model(rescale(x_train[:2]))\n"
                "model.fit(x_train, y_train, batch_size=2, epochs=1, verbose=0)\n"),
        data_mutants=(("np.zeros((4,) + input_shape, \"float32\")", "np.zeros((4, 256, 256, 3), \"float32\")"),
                      ("out = model(rescale(x_train[:2]))", "out = model(rescale(x_train[:2, :, :, :1]))"))),
    "collaborative_filtering_movielens": Example(
        # MovieLens small: 610 users, 9724 movies; x (N, 2) (user, movie) indices, y (N,) ratings in [0, 1]
        "structured_data/collaborative_filtering_movielens.py", keep=((37, 37), (40, 42), (82, 82), (108, 108), (124, 164)),
        subs={82: "num_users, num_movies = 610, 9724",
              108: "x_train, x_val, y_train, y_val = np.zeros((8, 2), \"int64\"), np.zeros((8, 2), \"int64\"), "
                   "np.zeros((8,)), np.zeros((8,))"},
        driver=("out = model(x_train[:2])\n"
                "model.fit(x=x_train, y=y_train, batch_size=4, epochs=1, verbose=0)\n"),
        data_mutants=(("out = model(x_train[:2])", "out = model(x_train[:2, :1])"),)),
}

# Under vision/, nlp/, timeseries/ and structured_data/ of examples/keras_io (the Keras-3 ports), not in the
# corpus, and why.
SKIPPED = {
    "vision/image_classification_with_vision_transformer.py": "its Patches layer calls keras-core's "
    "`ops.backend.shape`, which Keras 3 does not have",
    "nlp/multiple_choice_task_with_transfer_learning.py": "needs keras_nlp and a pretrained backbone (network)",
    "nlp/neural_machine_translation_with_keras_nlp.py": "needs keras_nlp and tensorflow text pipelines",
    "nlp/pretraining_BERT.py": "needs transformers and datasets (network)",
    "vision/deeplabv3_plus.py": "ResNet50 backbone with ImageNet weights (network), tf image pipeline",
    "vision/image_classifier.py": "needs keras_cv and tensorflow_datasets",
    "vision/keypoint_detection.py": "needs imgaug and MobileNetV2 ImageNet weights (network)",
    "vision/video_transformers.py": "DenseNet121 ImageNet weights for its features (network), cv2",
    "vision/fixres.py": "tensorflow_datasets and a tf image pipeline in the model's preprocessing",
    "vision/learnable_resizer.py": "tensorflow_datasets and tf.image resizing inside the model",
    "vision/token_learner.py": "tensorflow ops in the model",
    "structured_data/tabtransformer.py": "tf.data from CSV files; the model's inputs are built from the CSV header",
    "structured_data/deep_neural_decision_forests.py": "tf.data from CSV files; tf ops in the model",
    "nlp/neural_machine_translation_with_transformer.py": "tf.strings TextVectorization on a downloaded corpus",
}
