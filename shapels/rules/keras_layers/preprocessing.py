"""The image preprocessing layers a model may start with (Rescaling, Normalization, Resizing,
CenterCrop) and the other layers that keep their input's shape (Masking, UnitNormalization,
ActivityRegularization). Resizing and CenterCrop take a batch of images or one image, channels-last
unless data_format says otherwise, and give (height, width) whatever the input's size."""

from __future__ import annotations

from shapels.rules.base import RuleCall, Unknowable
from shapels.rules.keras_layers.spec import data_format, keras_layer, positive_int
from shapels.rules.registry import T, ex
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import Number


def _same(call: RuleCall):
    return call.shape("inputs")


def _rescaling(call: RuleCall):
    """scale and offset broadcast against the input: numbers keep its shape; arrays are not followed."""
    if not (_scalar(call.value("scale")) and _scalar(call.value("offset"))):
        raise Unknowable("scale")
    return call.shape("inputs")


# Rescaling and Normalization broadcast their parameters against the input, so they may change its shape
# (3 per-channel means against 1 channel): they keep a step in a tensor's chain, which a chain re-applied to
# other data (keras_models) must see.
keras_layer("Rescaling", init="scale, offset=0.0",
            examples=[ex(T(2, 8, 8, 3), init=(1 / 255,), out=(2, 8, 8, 3))])(_rescaling)
keras_layer("Masking", init="mask_value=0.0", preserves_shape=True,
            examples=[ex(T(2, 5, 3), out=(2, 5, 3))])(_same)
keras_layer("ActivityRegularization", init="l1=0.0, l2=0.0", preserves_shape=True,
            examples=[ex(T(2, 5), out=(2, 5))])(_same)
keras_layer("UnitNormalization", init="axis=-1", preserves_shape=True,
            examples=[ex(T(2, 5, 3), out=(2, 5, 3))])(_same)


def _normalized_axes(call: RuleCall, shape: Shape) -> dict:
    """An adapted Normalization (no mean given) builds its mean and variance from the sizes of its axis."""
    axis = call.value("axis")
    axis = D.as_int(axis.value) if isinstance(axis, Number) else None
    if axis is None or not shape.ranked or not -shape.rank <= axis < shape.rank:
        raise Unknowable("axis")
    return {axis: shape.dim(axis)}


@keras_layer(
    "Normalization",
    init="axis=-1, mean=None, variance=None, invert=False",
    builds=_normalized_axes,
    refuses_other_sizes=False,  # its mean and variance broadcast against a later input
    examples=[ex(T(2, 5, 5, 3), out=(2, 5, 5, 3)), ex(T(2, 5, 5, 3), init=(-1, 0.5, 2.0), out=(2, 5, 5, 3)),
              # one mean and variance per channel, as Keras's applications pass them (ConvNeXt, EfficientNetV2)
              ex(T(2, 5, 5, 3), init=(-1, [0.5, 0.4, 0.3], [1.0, 2.0, 3.0]), out=(2, 5, 5, 3)),
              ex(T(None, 5, 5, 3), init=(3, [0.5, 0.4, 0.3], [1.0, 2.0, 3.0]), out=(None, 5, 5, 3))],
)
def normalization(call: RuleCall):
    if not (call.is_none("mean") and call.is_none("variance")):
        # mean and variance are broadcast against the input's axes: a number each, or one per position of
        # a single axis that has that many; any other broadcast is not modelled
        value = call.shape_or_none("inputs")
        if value is None or not (_scalar(call.value("mean")) and _scalar(call.value("variance"))
                                 or _per_axis(call, value)):
            raise Unknowable("mean")
    shape = call.shape("inputs")
    built = call.layer.built if call.layer is not None else None
    for axis, size in (built or {}).items():
        if shape.ranked and -shape.rank <= axis < shape.rank and D.eq(shape.dim(axis), size) is not True:
            raise Unknowable("inputs")  # broadcast against the sizes it was built for (1 channel to 3): not followed
    return shape


def _scalar(value) -> bool:
    """A number (an int, a float, or the analysis's exact integer), not an array."""
    return isinstance(value, Number) and (isinstance(value.value, (int, float)) or getattr(value.value, "is_number", False))


def _per_axis(call: RuleCall, shape: Shape) -> bool:
    """mean and variance lists of one number per position of the single axis `axis`, which has that size."""
    axis = call.value("axis")
    axis = D.as_int(axis.value) if isinstance(axis, Number) else None
    lengths = {len(getattr(call.value(name), "items", ())) for name in ("mean", "variance")}
    if not shape.ranked or axis is None or not -shape.rank <= axis < shape.rank:
        return False
    size = D.as_int(shape.dim(axis))
    return len(lengths) == 1 and size is not None and size > 0 and lengths == {size}


def _image_size(call: RuleCall):
    height, width = positive_int(call, "height"), positive_int(call, "width")
    fmt = data_format(call)
    shape = call.shape("data")
    if not shape.ranked or shape.rank not in (3, 4):
        raise Unknowable("data")  # Keras's symbolic and eager calls treat other ranks differently
    dims = list(shape.dims)
    if fmt == "channels_last":
        return Shape.of(dims[:-3] + [height, width, dims[-1]])
    return Shape.of(dims[:-2] + [height, width])


_IMAGE_EXAMPLES = [
    ex(T(2, 5, 8, 3), init=(4, 6), out=(2, 4, 6, 3)),
    ex(T(5, 8, 3), init=(7, 6), out=(7, 6, 3)),
    ex(T(None, 5, 8, 3), init=(4, 6), out=(None, 4, 6, 3)),
    ex(T(2, 3, 5, 8), init=(4, 6), init_kwargs={"data_format": "channels_first"}, out=(2, 3, 4, 6)),
]
@keras_layer("Resizing", init="height, width, interpolation='bilinear', crop_to_aspect_ratio=False, "
             "pad_to_aspect_ratio=False, fill_mode='constant', fill_value=0.0, antialias=False, data_format=None",
             call="data, training=True", examples=_IMAGE_EXAMPLES)
def resizing(call: RuleCall):
    return _image_size(call)


keras_layer("CenterCrop", init="height, width, data_format=None", call="data, training=True",
            examples=_IMAGE_EXAMPLES)(_image_size)


# The random image augmentations (keras-io's `data_augmentation = keras.Sequential([...])` in front of a
# model): each transforms the pixels of an image of the same size, in training and at inference alike.
def _same_data(call: RuleCall):
    return call.shape("data")


_AUGMENT_EXAMPLES = [ex(T(2, 8, 8, 3), out=(2, 8, 8, 3)), ex(T(None, 32, 32, 3), out=(None, 32, 32, 3))]
keras_layer("RandomFlip", init="mode='horizontal_and_vertical', seed=None, data_format=None",
            call="data, training=True", preserves_shape=True, examples=_AUGMENT_EXAMPLES)(_same_data)
keras_layer("RandomRotation", init="factor, fill_mode='reflect', interpolation='bilinear', seed=None, fill_value=0.0, "
            "data_format=None", call="data, training=True", preserves_shape=True,
            examples=[ex(T(2, 8, 8, 3), init=(0.1,), out=(2, 8, 8, 3)),
                      ex(T(None, 32, 32, 3), init=(0.02,), out=(None, 32, 32, 3))])(_same_data)
keras_layer("RandomZoom", init="height_factor, width_factor=None, fill_mode='reflect', interpolation='bilinear', "
            "seed=None, fill_value=0.0, data_format=None", call="data, training=True", preserves_shape=True,
            examples=[ex(T(2, 8, 8, 3), init=(0.2, 0.2), out=(2, 8, 8, 3)),
                      ex(T(None, 32, 32, 3), init=(0.2,), out=(None, 32, 32, 3))])(_same_data)
keras_layer("RandomTranslation", init="height_factor, width_factor, fill_mode='reflect', interpolation='bilinear', "
            "seed=None, fill_value=0.0, data_format=None", call="data, training=True", preserves_shape=True,
            examples=[ex(T(2, 8, 8, 3), init=(0.1, 0.1), out=(2, 8, 8, 3))])(_same_data)
keras_layer("RandomContrast", init="factor, value_range=(0, 255), seed=None", call="data, training=True",
            preserves_shape=True, examples=[ex(T(2, 8, 8, 3), init=(0.1,), out=(2, 8, 8, 3)),
                                            ex(T(None, 32, 32, 3), init=(0.1,), out=(None, 32, 32, 3))])(_same_data)
keras_layer("RandomBrightness", init="factor, value_range=(0, 255), seed=None", call="data, training=True",
            preserves_shape=True, examples=[ex(T(2, 8, 8, 3), init=(0.1,), out=(2, 8, 8, 3))])(_same_data)
# RandomCrop crops to (height, width) in training and center-crops (or resizes) to it at inference.
keras_layer("RandomCrop", init="height, width, seed=None, data_format=None", call="data, training=True",
            examples=[ex(T(2, 8, 8, 3), init=(6, 5), out=(2, 6, 5, 3)),
                      ex(T(None, 32, 32, 3), init=(32, 32), out=(None, 32, 32, 3))])(_image_size)
