<?php

namespace WHMCS\Module\Server\Voxcast;

/** A refusal or failure of voxcast's API, with its HTTP status and stable code. */
class ApiError extends \Exception
{
    /** @var int HTTP status, 0 when no answer came */
    public $status;
    /** @var string voxcast's stable error code ("not-found", "downgrade-refused", ...) */
    public $errorCode;
    /** @var array per-field reasons */
    public $fields;

    /** @var bool the refusal came from voxcast's idempotency store (an earlier attempt's) */
    public $replayed = false;

    public function __construct($message, $status = 0, $errorCode = '', array $fields = [],
                                $replayed = false)
    {
        $this->replayed = $replayed;
        parent::__construct($message);
        $this->status = $status;
        $this->errorCode = $errorCode;
        $this->fields = $fields;
    }
}
