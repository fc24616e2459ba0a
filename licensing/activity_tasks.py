"""django-q2 entry points of the activity jobs (registered in ``LicensingConfig.ready``)."""

from accounts.actors import Actor
from licensing import activity
from licensing.compliance import storage_blocks_reevaluate


def purge_data_history():
    result = activity.purge_data_history()
    storage_blocks_reevaluate(actor=Actor.job("purge_data_history"))
    return result


def snapshot_license_usage():
    return activity.snapshot_license_usage()
