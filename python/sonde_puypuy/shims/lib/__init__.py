"""PuyPuy's lib package: sonde's pushdata, record_rate, getconfig, basecheck and puylogger first,
then the install's own lib/ (the runner appends it to __path__) for helpers such as commonclient."""
