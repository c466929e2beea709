-- signclip search schema, version 6: the segments of one recording are found by the pose file they share
-- (Store.recording_items, the search page's recording view), without scanning the dataset's items: with
-- millions of segments a dataset-wide scan per opened recording takes seconds.
CREATE INDEX items_dataset_pose_path ON items (dataset_id, pose_path, start_ms);
