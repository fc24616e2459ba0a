from staff.services import daily_metrics_record


def snapshot_business_metrics():
    metrics = daily_metrics_record()
    return f"{metrics.day}: ARR {metrics.arr_cents} cents"
