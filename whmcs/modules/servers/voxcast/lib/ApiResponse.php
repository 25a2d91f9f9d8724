<?php

namespace WHMCS\Module\Server\Voxcast;

/** A 2xx answer of voxcast's API. */
class ApiResponse
{
    public $status;
    public $data;
    /** true when voxcast answered from its idempotency store (nothing was done again) */
    public $replayed;

    public function __construct($status, $data, $replayed)
    {
        $this->status = $status;
        $this->data = $data;
        $this->replayed = $replayed;
    }
}
