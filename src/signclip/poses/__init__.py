"""Pose sequences: reading and writing pose files, video -> pose extraction (MediaPipe Holistic), preprocessing."""
