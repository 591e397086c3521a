"""Scoring the chain: on a labelled split (``chain``), on COCO-keypoint photos (``coco``) and as
the published work's evaluation figure (``pictures``). Torch-free: any backend."""
