"""Datasets: a folder checked against its metadata and described in a manifest, uploaded files first and the
manifest last (from here or through presigned URLs), and read back as a job's input when it is sent.
"""
