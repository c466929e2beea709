"""Judging models and searches: retrieval metrics, the DTW baselines, probes, all-against-all reports."""
