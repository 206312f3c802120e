import os

# Keep TensorFlow's C++ start-up messages out of the test output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
