{* a top-up service (voxcast_ClientArea): its amount went to the client's voxcast balance *}
<div class="voxcast-topup">
  <p>This top-up credited {$package.topup_amount|escape} to your voxcast balance.</p>
</div>
