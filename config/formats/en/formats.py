# Every datetime a person reads says its zone (issue 17): Django's default English formats with
# the zone's abbreviation (T) added; dates stay dates.
DATETIME_FORMAT = "j M Y, H:i T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
DATE_FORMAT = "j M Y"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i T"
