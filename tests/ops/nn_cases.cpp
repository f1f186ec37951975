// Table rows for this op family.
