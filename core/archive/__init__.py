"""Finding and fetching SAR scenes at the head of the pipeline: ASF's archive through its own client (asf_search),
resumable and checked downloads. Plain Python, no QGIS; asf_search is imported only when a search or a session
is made, so the plugin loads without it."""
