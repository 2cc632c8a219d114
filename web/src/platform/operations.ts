import { graphql } from '../gql';

export const FindAfterSaleQuery = graphql(`
  query FindAfterSale($number: String!) {
    afterSaleByNumber(number: $number) {
      ...AfterSaleRecordFields
      evidenceRequest {
        id
        status
      }
    }
  }
`);

export const RecordAfterSaleMutation = graphql(`
  mutation RecordAfterSale($input: RecordAfterSaleInput!) {
    recordAfterSale(input: $input) {
      __typename
      ... on RecordAfterSalePayload {
        created
        afterSale {
          id
          number
        }
      }
      ...ErrorFields
    }
  }
`);

export const RequestEvidenceMutation = graphql(`
  mutation RequestEvidence($input: RequestEvidenceInput!) {
    requestEvidence(input: $input) {
      __typename
      ... on RequestEvidencePayload {
        evidenceRequest {
          id
          dueAt
        }
      }
      ...ErrorFields
    }
  }
`);

export const CancelEvidenceRequestMutation = graphql(`
  mutation CancelEvidenceRequest($id: ID!) {
    cancelEvidenceRequest(evidenceRequestId: $id) {
      __typename
      ...ErrorFields
    }
  }
`);

export const ResolveArbitrationMutation = graphql(`
  mutation ResolveArbitration($input: ResolveArbitrationInput!) {
    resolveArbitration(input: $input) {
      __typename
      ...ErrorFields
    }
  }
`);
