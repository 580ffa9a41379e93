package zeebejson

// Envelope fields, in the order Encode writes them ("value" last).
const (
	ePartitionID = iota
	ePosition
	eSourceRecordPosition
	eKey
	eTimestamp
	eRecordType
	eValueType
	eIntent
	eRejectionType
	eRejectionReason
	eBrokerVersion
	eRecordVersion
	eOperationReference
	eBatchOperationReference
	eAuthorizations
	eValue
	numEnvelope
)

var envelopeNames = [numEnvelope]string{
	ePartitionID:             "partitionId",
	ePosition:                "position",
	eSourceRecordPosition:    "sourceRecordPosition",
	eKey:                     "key",
	eTimestamp:               "timestamp",
	eRecordType:              "recordType",
	eValueType:               "valueType",
	eIntent:                  "intent",
	eRejectionType:           "rejectionType",
	eRejectionReason:         "rejectionReason",
	eBrokerVersion:           "brokerVersion",
	eRecordVersion:           "recordVersion",
	eOperationReference:      "operationReference",
	eBatchOperationReference: "batchOperationReference",
	eAuthorizations:          "authorizations",
	eValue:                   "value",
}

// requiredEnvelope lists the envelope fields Decode insists on, in the order
// a missing one is reported.
var requiredEnvelope = [...]int{ePartitionID, ePosition, eKey, eTimestamp, eRecordType, eValueType, eIntent, eValue}

func envelopeField[T string | []byte](key T) int {
	switch string(key) {
	case "partitionId":
		return ePartitionID
	case "position":
		return ePosition
	case "sourceRecordPosition":
		return eSourceRecordPosition
	case "key":
		return eKey
	case "timestamp":
		return eTimestamp
	case "recordType":
		return eRecordType
	case "valueType":
		return eValueType
	case "intent":
		return eIntent
	case "rejectionType":
		return eRejectionType
	case "rejectionReason":
		return eRejectionReason
	case "brokerVersion":
		return eBrokerVersion
	case "recordVersion":
		return eRecordVersion
	case "operationReference":
		return eOperationReference
	case "batchOperationReference":
		return eBatchOperationReference
	case "authorizations":
		return eAuthorizations
	case "value":
		return eValue
	}
	return -1
}
