"""Chapter 4: export a trained model as a SavedModel that takes raw images.

The exported module's ``__call__`` takes uint8 images of shape
``(None, 28, 28)``, does the preprocessing itself (flatten, divide by 255)
and returns the predicted class of each image as int64, so any TensorFlow
program can use it with ``tf.saved_model.load(path)(images)`` and no mlpkit.
"""

import tensorflow as tf


class ExportModule(tf.Module):
    """Preprocessing + model + argmax, with a fixed input signature."""

    def __init__(self, model, name=None):
        super().__init__(name=name)
        self.model = model

    @tf.function(input_signature=[tf.TensorSpec([None, 28, 28], tf.uint8, name="images")])
    def __call__(self, images):
        x = tf.reshape(tf.cast(images, tf.float32) / 255.0, [-1, 784])
        return tf.argmax(self.model(x), axis=1, output_type=tf.int64)


def export_model(model, path):
    """Save ``model`` with its preprocessing to ``path`` (a directory); returns the path."""
    module = ExportModule(model)
    tf.saved_model.save(module, str(path))
    return path


def load_model(path):
    """Load an exported model; calling it on uint8 ``(n, 28, 28)`` images gives int64 classes."""
    return tf.saved_model.load(str(path))
