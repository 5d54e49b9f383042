"""Table and queue storage behind small interfaces: integrations, repositories, images, events, jobs."""
