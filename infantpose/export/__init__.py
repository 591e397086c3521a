"""Export: checkpoints -> ONNX (FP32/FP16/INT8) and TensorRT engines -> verified bundle."""
