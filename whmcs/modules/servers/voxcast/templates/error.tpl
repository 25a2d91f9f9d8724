{* voxcast_ClientArea when voxcast cannot be reached or refuses *}
<div class="alert alert-warning">The voxcast account details are not available right now: {$error|escape}</div>
