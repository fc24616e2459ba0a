"""django-q2 entry points of the activity jobs (registered in ``LicensingConfig.ready``)."""

from licensing import activity


def purge_data_history():
    return activity.purge_data_history()


def snapshot_license_usage():
    return activity.snapshot_license_usage()
