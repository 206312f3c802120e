"""Long runs and what they leave on disk: the plumbing behind the commands, not what a chapter teaches.

- `studies`: a study run across processes and shards, resumed from its folder, merged;
- `study_files`: what a study's folder holds, each file written whole;
- `outputs`: output folders and files checked before work starts, written whole or not at all;
- `lifetime`: worker processes that die with the process that started them.

Importing this package imports no TensorFlow.
"""
